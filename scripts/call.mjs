// Call a task from the shell:  node scripts/call.mjs <task> ['<args as JSON>'] [--url nats://127.0.0.1:4222] [--timeout 30000] [--prefix mesh] [--delivery direct|durable]
// Prints the RESPONSE; exits 0 on SUCCESS, 1 on FAILURE, 2 on usage or connection errors.
import { connect } from '@nats-io/transport-node';
import { parseArgs } from 'node:util';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' },
    timeout: { type: 'string', default: '30000' },
    prefix: { type: 'string', default: process.env.MESH_PREFIX ?? 'mesh' },
    id: { type: 'string' },
    key: { type: 'string' },
    delivery: { type: 'string' },
  },
});
const [task, argsText = 'null'] = positionals;
if (!task) {
  console.error("usage: node scripts/call.mjs <task> ['<args JSON>'] [--url URL] [--timeout MS] [--id ID] [--key KEY] [--delivery direct|durable]");
  process.exit(2);
}
let args;
try {
  args = JSON.parse(argsText);
} catch (err) {
  console.error(`args are not JSON: ${err.message}`);
  process.exit(2);
}
const timeoutMs = Number(opts.timeout);
if (opts.delivery !== undefined && !['direct', 'durable'].includes(opts.delivery)) {
  console.error(`--delivery must be direct or durable, not ${JSON.stringify(opts.delivery)}`);
  process.exit(2);
}
const body = { args, timeoutMs, ...(opts.id ? { id: opts.id } : {}), ...(opts.key ? { key: opts.key } : {}), ...(opts.delivery ? { delivery: opts.delivery } : {}) };
let nc;
try {
  nc = await connect({ servers: opts.url, name: 'taskmesh-cli' });
} catch (err) {
  console.error(`cannot connect to ${opts.url}: ${err.message}`);
  process.exit(2);
}
try {
  const reply = await nc.request(`${opts.prefix}.call.${task}`, JSON.stringify(body), { timeout: timeoutMs + 2000 });
  const response = reply.json();
  console.log(JSON.stringify(response, null, 2));
  process.exitCode = response.state === 'SUCCESS' ? 0 : 1;
} catch (err) {
  console.error(`call failed: ${err.message}`);
  process.exitCode = 2;
} finally {
  await nc.close();
}
