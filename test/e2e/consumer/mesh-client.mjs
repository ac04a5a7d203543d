// A plain Node script (no TypeScript, no build) using the installed @taskmesh/client: `node mesh-client.mjs <scenario>`
// prints one JSON line with what it saw. NATS_URL names the cluster's server, NATS_USER and NATS_PASSWORD its login.
import { CancelledError, CycleDetectedError, MeshClient, MeshError } from '@taskmesh/client';

/** What a test needs to know of an error: its class and code, and which classes it is an instance of. */
const described = (err) => ({
  name: err?.constructor?.name, code: err?.code, retryable: err?.retryable, message: err?.message,
  isMeshError: err instanceof MeshError, isCycleDetected: err instanceof CycleDetectedError, isCancelled: err instanceof CancelledError,
});

const scenarios = {
  /** A call of the stock worker's echo. */
  echo: async (client) => ({ result: await client.call('echo', { hello: 'world' }) }),

  /** A submitted sleep in steps, followed from its first event to its last. */
  progress: async (client) => {
    const id = await client.submit('sleep', { ms: 400, steps: 4 });
    const seen = [];
    for await (const event of client.events(id)) seen.push(event.event ? { state: event.state, details: event.event.details } : { state: event.state });
    return { id, seen };
  },

  /** A long sleep, cancelled once it runs. */
  cancel: async (client) => {
    const id = await client.submit('sleep', { ms: 60_000 });
    for await (const event of client.events(id)) if (event.state === 'RUNNING') break;
    const answer = await client.cancel(id);
    const outcome = await client.wait(id, { timeoutMs: 15_000 }).then((result) => ({ result }), described);
    return { id, cancelState: answer.state, outcome };
  },

  /** chain {2, cycleTo 1}: its grandchild calls chain {1, cycleTo 1} again, an ancestor's own arguments. */
  cycle: (client) => client.call('chain', { depth: 2, cycleTo: 1 }, { timeoutMs: 20_000 }).then((result) => ({ result }), described),
};

const scenario = scenarios[process.argv[2]];
if (!scenario) throw new Error(`usage: node mesh-client.mjs ${Object.keys(scenarios).join('|')}`);
const client = await MeshClient.connect({ servers: process.env.NATS_URL, user: process.env.NATS_USER, password: process.env.NATS_PASSWORD });
try {
  process.stdout.write(`${JSON.stringify(await scenario(client))}\n`);
} finally {
  await client.close();
}
