// BullMQ on Redis for `npm run bench` (scripts/benchmark.mjs): the peer its durable target lines name, measured in
// the same run. This module finds and starts redis-server and opens the producer side (a Queue and a QueueEvents in
// the bench's own process); the BullMQ Worker runs in its own process (scripts/bench-peer.mjs, BENCH_PEER=bullmq).
// The configuration both sides share is here, so the two cannot drift apart. See docs/BENCHMARKS.md.
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { ChildAppProcess, freePort, trackLeftover } from '@taskmesh/testing';

/** The queue the bench's jobs go through (a fresh Redis per run, so no other user). */
export const BULLMQ_QUEUE = 'bench-echo';

/**
 * Jobs each BullMQ worker process runs at once: as many as the bench keeps in flight, so one worker can hold them
 * all, as one taskmesh worker with MESH_WORKER_CONCURRENCY=64 can.
 */
export const BULLMQ_CONCURRENCY = 64;

/**
 * Completed and failed jobs are removed beyond the newest 1000 of each (BullMQ keeps all by default): bounded like
 * taskmesh's queues, and still long enough that `waitUntilFinished`'s own check finds a job that finished before its
 * listener was attached (with `removeOnComplete: true` that check can find the job gone and fail the wait).
 */
const JOB_OPTIONS = { removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } };

const READY_LINE = /Ready to accept connections/;
const PORT_ATTEMPTS = 3;

/** ioredis options for 127.0.0.1:`port`; `maxRetriesPerRequest: null` is what BullMQ asks of its connections. */
export function redisConnection(port) {
  return { host: '127.0.0.1', port, maxRetriesPerRequest: null };
}

/**
 * What BullMQ needs here, or why the BullMQ rows are N/A: the redis-server binary (env BENCH_REDIS_SERVER when it is
 * a path; `none` to see the N/A path on a machine that has Redis; else `redis-server` looked up on PATH) and the
 * ioredis package, which BullMQ 6 loads with `require` as an optional peer dependency.
 * Returns `{ binary, redisServer, ioredis, bullmq }` (the last three are versions) or `{ missing }` (the reason, for
 * the N/A lines).
 */
export function findBullmqSetup(env = process.env) {
  const override = env.BENCH_REDIS_SERVER;
  if (override === 'none') return { missing: 'redis-server not on PATH (BENCH_REDIS_SERVER=none)' };
  const candidates = override ? [override] : (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'redis-server'));
  const binary = candidates.find(isExecutable);
  if (binary === undefined) return { missing: override ? `redis-server not found at BENCH_REDIS_SERVER=${override}` : 'redis-server not on PATH' };
  const fromHere = createRequire(import.meta.url);
  const ioredis = packageVersion(createRequire(fromHere.resolve('bullmq')), 'ioredis');
  if (ioredis === undefined) return { missing: 'ioredis is not installed (BullMQ 6 needs it beside it: an optional peer dependency)' };
  const redisServer = execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5_000 }).match(/v=(\S+)/)?.[1] ?? 'unknown';
  return { binary, redisServer, ioredis, bullmq: packageVersion(fromHere, 'bullmq') };
}

/** The version of `name` as `require` finds it from where `req` was made (NODE_PATH included), if it is there. */
function packageVersion(req, name) {
  try {
    return req(`${name}/package.json`).version;
  } catch {
    return undefined;
  }
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts redis-server on a free loopback port with a temp dir and no persistence, adds it (and the removal of its
 * dir) to `group`, and resolves once it accepts connections. It is killed with the bench however the bench ends:
 * ChildAppProcess stops it with the group, and @taskmesh/testing's leftover watchdog kills it (and removes the dir) if the
 * bench itself is killed.
 */
export async function startRedisServer(binary, group, timeoutMs) {
  const dir = mkdtempSync(join(tmpdir(), 'taskmesh-bench-redis-'));
  group.add({ stop: async () => rmSync(dir, { recursive: true, force: true }) });
  let lastError;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes'];
    const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const server = group.add(new ChildAppProcess('redis-server', child, {}));
    if (child.pid !== undefined) trackLeftover(child.pid, dir);
    try {
      await server.waitForLine(READY_LINE, timeoutMs);
      return { port, pid: server.pid, stop: (ms) => server.stop(ms) };
    } catch (err) {
      lastError = err;
      await server.stop(2_000);
      group.delete(server);
      // Another process may take the probed port before redis-server binds it: try another one.
      if (!server.lines().some((line) => /Address already in use/.test(line))) break;
    }
  }
  throw new Error('redis-server did not start', { cause: lastError });
}

/**
 * The producer side of BullMQ request-reply, as a BullMQ user writes it: `queue.add` a job, then
 * `job.waitUntilFinished(queueEvents)` for its return value. `call()` rejects unless the job returned its data.
 * `close(timeoutMs)` closes both ioredis connections (so the bench can exit), waiting at most `timeoutMs`; it never
 * rejects and may be called again.
 */
export async function openBullmqProducer(port, { data, callTimeoutMs, inFlight }) {
  const connection = redisConnection(port);
  const queue = new Queue(BULLMQ_QUEUE, { connection, defaultJobOptions: JOB_OPTIONS });
  const events = new QueueEvents(BULLMQ_QUEUE, { connection });
  // Every waiting job listens for the queue's 'closing'; inFlight of them at once is expected, not a leak.
  queue.setMaxListeners(inFlight + 16);
  events.setMaxListeners(inFlight + 16);
  let closing;
  const close = async (timeoutMs = 5_000) => {
    closing ??= Promise.allSettled([events.close(), queue.close()]);
    let timer;
    await Promise.race([closing, new Promise((resolve) => { timer = setTimeout(resolve, timeoutMs); })]);
    clearTimeout(timer);
  };
  try {
    // Listening before the first job is added: QueueEvents reads only events newer than its start.
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
  } catch (err) {
    await close();
    throw err;
  }
  const expected = JSON.stringify(data);
  return {
    async call() {
      const job = await queue.add('echo', data);
      const returned = await job.waitUntilFinished(events, callTimeoutMs);
      if (JSON.stringify(returned) !== expected) throw new Error(`BullMQ job ${job.id} returned ${JSON.stringify(returned)}, not its data`);
    },
    close,
  };
}
