// Schedule tasks from the shell (mesh.dispatches.*, served by the scheduler):
//
//   node scripts/schedule.mjs create <task> ['<args JSON>'] [--every RRULE | --cron EXPR] [--start ISO | --in MS]
//        [--duration MS] [--timezone ZONE] [--misfire skip|fire-once|fire-all] [--id ID] [--key KEY] [--dry-run]
//        [--inactive] [--follow]
//   node scripts/schedule.mjs list | get <id> | delete <id> | follow <id>
//   common: [--url nats://127.0.0.1:4222] [--prefix mesh]
//
// create starts in 1 s unless --start or --in says otherwise. --follow (and follow) print the dispatch's events, one
// line each, until Ctrl-C or the dispatch is deleted. Exits 0 on success, 1 when the scheduler refuses (the reason is
// printed), 2 on usage or connection errors.
import { connect } from '@nats-io/transport-node';
import { parseArgs } from 'node:util';

const usage = `usage: node scripts/schedule.mjs create <task> ['<args JSON>'] [--every RRULE | --cron EXPR] [--start ISO | --in MS]
         [--duration MS] [--timezone ZONE] [--misfire skip|fire-once|fire-all] [--id ID] [--key KEY] [--dry-run] [--inactive] [--follow]
       node scripts/schedule.mjs list | get <id> | delete <id> | follow <id>
       common options: [--url nats://127.0.0.1:4222] [--prefix mesh]`;

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string', default: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' },
      prefix: { type: 'string', default: process.env.MESH_PREFIX ?? 'mesh' },
      every: { type: 'string' },
      cron: { type: 'string' },
      start: { type: 'string' },
      in: { type: 'string' },
      duration: { type: 'string' },
      timezone: { type: 'string' },
      misfire: { type: 'string' },
      id: { type: 'string' },
      key: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      inactive: { type: 'boolean', default: false },
      follow: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
} catch (err) {
  exitWith(2, `${err.message}\n${usage}`);
}
const { values: opts, positionals } = parsed;
const [command, ...rest] = positionals;
if (opts.help) exitWith(0, usage);

const subject = (op) => `${opts.prefix}.dispatches.${op}`;
let body;
let follow;
switch (command) {
  case 'create':
    body = createBody(rest);
    follow = opts.follow ? body.id : undefined;
    break;
  case 'list':
    if (rest.length !== 0) exitWith(2, usage);
    body = {};
    break;
  case 'get':
  case 'delete':
  case 'follow':
    if (rest.length !== 1) exitWith(2, usage);
    body = { id: rest[0] };
    if (command === 'follow') follow = rest[0];
    break;
  default:
    exitWith(2, command === undefined ? usage : `unknown command ${JSON.stringify(command)}\n${usage}`);
}

let nc;
try {
  nc = await connect({ servers: opts.url, name: 'taskmesh-schedule' });
} catch (err) {
  exitWith(2, `cannot connect to ${opts.url}: ${err.message}`);
}
let code = 0;
try {
  // Subscribed before the create, so its `created` event is printed too.
  const events = follow === undefined ? undefined : nc.subscribe(`${opts.prefix}.events.dispatch.${follow}`);
  if (command !== 'follow') {
    const answer = (await nc.request(subject(command), JSON.stringify(body), { timeout: 10_000 })).json();
    if (answer.type === 'RESPONSE' && answer.data?.failure) {
      const f = answer.data.failure;
      console.error(`refused: ${f.code}: ${f.message}`);
      code = 1;
      events?.unsubscribe();
    } else {
      console.log(JSON.stringify(answer.dispatch ?? answer.dispatches ?? answer, null, 2));
    }
  }
  if (events && code === 0) {
    console.error(`following ${opts.prefix}.events.dispatch.${follow} (Ctrl-C stops)`);
    process.once('SIGINT', () => events.unsubscribe());
    for await (const m of events) {
      const e = m.json();
      const occurrence = e.occurrence ? ` occurrence ${e.occurrence}` : '';
      console.log(`${e.at} ${e.event}${occurrence}`);
      if (e.event === 'deleted') break;
    }
  }
} catch (err) {
  console.error(`${command} failed: ${err.message}`);
  code = 2;
} finally {
  await nc.close();
}
process.exit(code);

function createBody(args) {
  const [task, argsText] = args;
  if (!task || args.length > 2) exitWith(2, usage);
  const out = { task };
  if (argsText !== undefined) {
    try {
      out.args = JSON.parse(argsText);
    } catch (err) {
      exitWith(2, `args are not JSON: ${err.message}`);
    }
  }
  if (opts.every !== undefined && opts.cron !== undefined) exitWith(2, '--every and --cron are alternatives: give one');
  if (opts.start !== undefined && opts.in !== undefined) exitWith(2, '--start and --in are alternatives: give one');
  if (opts.every !== undefined) out.recurrence = opts.every;
  if (opts.cron !== undefined) out.recurrence = { cron: opts.cron };
  out.start = opts.start ?? new Date(Date.now() + integer('--in', opts.in ?? '1000')).toISOString();
  if (opts.duration !== undefined) out.duration = integer('--duration', opts.duration);
  if (opts.timezone !== undefined) out.timezone = opts.timezone;
  if (opts.misfire !== undefined) out.misfire = opts.misfire;
  if (opts.key !== undefined) out.key = opts.key;
  if (opts['dry-run']) out.dryRun = true;
  if (opts.inactive) out.active = false;
  // An id of our own, so that --follow can subscribe before the dispatch exists.
  out.id = opts.id ?? `d-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return out;
}

function integer(name, text) {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) exitWith(2, `${name} must be a whole number of milliseconds`);
  return n;
}

function exitWith(status, message) {
  (status === 0 ? console.log : console.error)(message);
  process.exit(status);
}
