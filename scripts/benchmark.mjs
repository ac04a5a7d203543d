// `npm run bench`: taskmesh's call paths side by side with raw NATS and raw JetStream request-reply, on one
// nats-server started for the run (random port, temp store), everything on loopback, reported as ratios against the
// right peer (durable vs raw JetStream, direct vs raw NATS); and, when redis-server is on PATH (and ioredis installed),
// BullMQ request-reply on a redis-server started for the run (scripts/bench-bullmq.mjs), the peer the durable targets
// name. See docs/BENCHMARKS.md.
//   npm run bench [-- --quick]
// Prints a table, the CPU each process spent per call, and the performance targets as PASS/FAIL lines
// (information: the run exits 0 unless something broke); writes the same as JSON to .tmp/bench.json.
// Bounded: every phase has a time cap, the whole run has one, and every process it started is stopped at the end,
// on an error, on SIGINT/SIGTERM, and (through @taskmesh/testing's leftover watchdog) even if this process is killed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { connect, createInbox, headers } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { createDirectPath } from '@taskmesh/client';
import { Role } from '@taskmesh/protocol';
import { freePort, ProcessGroup, spawnApp, startNatsServer, waitFor } from '@taskmesh/testing';
import { BULLMQ_CONCURRENCY, findBullmqSetup, openBullmqProducer, startRedisServer } from './bench-bullmq.mjs';

const quick = process.argv.includes('--quick');
const C = quick
  ? { warm: 100, seq: 500, seqCapMs: 5_000, tpCalls: 5_000, tpCapMs: 3_000, sleepMs: 2_000, beatMs: 2_000, runCapMs: 100_000 }
  : { warm: 300, seq: 2_000, seqCapMs: 15_000, tpCalls: 20_000, tpCapMs: 10_000, sleepMs: 4_000, beatMs: 4_000, runCapMs: 180_000 };
const IN_FLIGHT = 64;
const CALL_TIMEOUT_MS = 5_000;
const START_TIMEOUT_MS = 20_000;
const BEAT_PERIOD_MS = 250;
const BEAT_SLOTS = 8;
const body = JSON.stringify({ args: { n: 1 } });
/** Moleculer's calls/s measured on this class of machine: the SDK direct target (issue 12). */
const MOLECULER_CALLS_PER_SEC = 36_000;
/** How long closing the BullMQ producer's connections may take before the bench stops everything anyway. */
const CLOSE_TIMEOUT_MS = 5_000;

const group = new ProcessGroup();
/** The caller's connection: mesh calls and the SDK direct path, as a program calling the mesh has (auth on, as by default). */
let nc;
/** The admin's: the raw NATS and JetStream baselines use subjects and a stream of their own. */
let raw;
let bullmq;
let currentPhase = 'start';
let finished = false;

// ---- shutdown: one path for the normal end, errors, the run cap and signals -------------------------------------

async function shutdown(code, message) {
  if (finished) return;
  finished = true;
  clearTimeout(runCap);
  if (message) console.error(message);
  await Promise.all([nc, raw].map((c) => c?.close().catch(() => undefined)));
  // Before redis-server stops: an open ioredis connection to a stopped server reconnects forever.
  await bullmq?.close(CLOSE_TIMEOUT_MS);
  await group.stopAll(5_000).catch((err) => console.error(`bench: stopping processes: ${err.message}`));
  process.exit(code);
}
const runCap = setTimeout(() => void shutdown(1, `bench: the run exceeded its ${C.runCapMs / 1000} s cap (in phase "${currentPhase}")`), C.runCapMs);
process.on('SIGINT', () => void shutdown(130, `bench: interrupted (in phase "${currentPhase}")`));
process.on('SIGTERM', () => void shutdown(143, `bench: terminated (in phase "${currentPhase}")`));

/** Runs `fn` as the named phase; rejects if it takes longer than `capMs` (the run then stops everything). */
async function phase(name, capMs, fn) {
  currentPhase = name;
  let timer;
  const cap = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`phase "${name}" exceeded its ${capMs / 1000} s cap`)), capMs);
  });
  try {
    return await Promise.race([fn(), cap]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- CPU accounting: what each process spent per call during the 64-in-flight window (Linux /proc) ---------------

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, µs) of a process so far, or undefined where /proc is missing. */
function cpuMicros(pid) {
  if (pid === process.pid) {
    const u = process.cpuUsage();
    return u.user + u.system;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1e6;
  } catch {
    return undefined;
  }
}

function cpuSnapshot(procs) {
  return procs.map(({ name, pid }) => ({ name, pid, at: cpuMicros(pid) }));
}

function cpuPerCall(before, calls, seconds) {
  const perProcess = {};
  let total = 0;
  for (const b of before) {
    const now = cpuMicros(b.pid);
    if (now === undefined || b.at === undefined) continue;
    perProcess[b.name] = Math.round((now - b.at) / Math.max(1, calls));
    total += now - b.at;
  }
  return { perProcess, totalUs: Math.round(total / Math.max(1, calls)), busyPct: Math.round((total / 1e6 / seconds) * 100) };
}

// ---- server-side accounting: what one call costs nats-server in messages and stored writes (its monitoring port) --

let monitorUrl;

/** Messages in and out of nats-server so far, and messages stored (the sum of every stream's last sequence). */
async function serverCounts() {
  if (!monitorUrl) return undefined;
  try {
    const [varz, jsz] = await Promise.all([fetch(`${monitorUrl}/varz`), fetch(`${monitorUrl}/jsz?streams=true`)].map((p) => p.then((r) => r.json())));
    const streams = (jsz.account_details ?? []).flatMap((a) => (a.stream_detail ?? []));
    return { in: varz.in_msgs, out: varz.out_msgs, stored: streams.reduce((n, st) => n + (st.state?.last_seq ?? 0), 0) };
  } catch {
    return undefined;
  }
}

function perCall(before, after, calls) {
  if (!before || !after || calls <= 0) return undefined;
  const r = (k) => Math.round(((after[k] - before[k]) / calls) * 10) / 10;
  return { msgsIn: r('in'), msgsOut: r('out'), stored: r('stored') };
}

// ---- measuring ----------------------------------------------------------------------------------------------------

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN;
}

/**
 * Sequential latency (warm-up, then up to C.seq calls one after another, capped at C.seqCapMs) and throughput with a
 * fixed window of IN_FLIGHT outstanding calls (C.tpCalls calls or C.tpCapMs, whichever first), for one call function.
 * `procs` are the processes whose CPU is accounted during the throughput window.
 */
async function measure(name, once, procs) {
  const capMs = 2 * C.seqCapMs + C.tpCapMs + 3 * CALL_TIMEOUT_MS;
  return phase(name, capMs, async () => {
    let errors = 0;
    let lastError;
    const attempt = async () => {
      try {
        await once();
        return true;
      } catch (err) {
        errors++;
        lastError = err;
        return false;
      }
    };
    let t0 = performance.now();
    for (let i = 0; i < C.warm && performance.now() - t0 < C.seqCapMs; i++) await attempt();
    const warmErrors = errors;
    errors = 0;

    const lat = [];
    t0 = performance.now();
    while (lat.length + errors < C.seq && performance.now() - t0 < C.seqCapMs) {
      const t = performance.now();
      if (await attempt()) lat.push(performance.now() - t);
    }
    lat.sort((a, b) => a - b);
    const seqErrors = errors;
    errors = 0;

    let sent = 0;
    let done = 0;
    const counted = await serverCounts();
    const before = cpuSnapshot(procs);
    t0 = performance.now();
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (sent < C.tpCalls && performance.now() - t0 < C.tpCapMs) {
        sent++;
        if (await attempt()) done++;
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuPerCall(before, done, seconds);
    const server = perCall(counted, await serverCounts(), done);
    if (lat.length === 0 || done === 0) throw new Error(`${name}: no call succeeded (last error: ${lastError?.message ?? lastError})`);
    return {
      name,
      seq: { calls: lat.length, p50: percentile(lat, 50), p90: percentile(lat, 90), p99: percentile(lat, 99), max: lat.at(-1), errors: seqErrors, warmErrors },
      tp: { inFlight: IN_FLIGHT, calls: done, seconds, perSec: done / seconds, errors },
      cpu,
      server,
      lastError: lastError === undefined ? undefined : String(lastError?.message ?? lastError),
    };
  });
}

/** A mesh.call that throws on an error reply (the Nats-Service-Error-Code header) or a non-SUCCESS state. */
function meshCall(task, payload) {
  return async () => {
    const r = await nc.request(`mesh.call.${task}`, payload, { timeout: CALL_TIMEOUT_MS });
    if (r.headers?.get('Nats-Service-Error-Code')) throw new Error(r.string());
  };
}

async function workersListed() {
  return (await nc.request('mesh.workers.list', '{}', { timeout: 1_000 })).json().workers;
}

function startPeer(mode, env, name = `peer-${mode}`) {
  const peer = group.add(spawnApp('worker', { ...env, BENCH_PEER: mode }, { name, entry: 'scripts/bench-peer.mjs' }));
  return phase(`start ${name}`, START_TIMEOUT_MS, async () => {
    await peer.waitForLine(/^ready$/, START_TIMEOUT_MS);
    return peer;
  });
}

// ---- the run --------------------------------------------------------------------------------------------------------

const rows = {};
const notes = [];
let natsServer;
try {
  const setup = findBullmqSetup();
  const load = loadavg()[0];
  console.log(`bench: ${cpus().length} cores, load average ${load.toFixed(2)}${quick ? ', --quick' : ''}`);
  if (load > 0.5 * cpus().length) notes.push(`load average was ${load.toFixed(2)} at start: other processes may have shared the CPU (numbers then run low)`);
  const monitorPort = await freePort();
  const server = await phase('start nats-server', START_TIMEOUT_MS, () => startNatsServer({ config: `http: "127.0.0.1:${monitorPort}"` }));
  monitorUrl = `http://127.0.0.1:${monitorPort}`;
  group.add(server);
  nc = await connect({ servers: server.url, ...server.login(Role.Caller), noAsyncTraces: true });
  raw = await connect({ servers: server.url, ...server.login(Role.Admin), noAsyncTraces: true });
  natsServer = nc.info?.version;
  console.log(`bench: ${setup.missing ? `BullMQ rows N/A: ${setup.missing}` : `BullMQ ${setup.bullmq} with ioredis ${setup.ioredis} on redis-server ${setup.redisServer} (${setup.binary}), workers with concurrency ${BULLMQ_CONCURRENCY}`}`);
  console.log(`bench: nats-server ${natsServer} at ${server.url}; per path: ${C.warm} warm-up + ${C.seq} sequential calls (cap ${C.seqCapMs / 1000} s), `
    + `then ${IN_FLIGHT} in flight (${C.tpCalls} calls or ${C.tpCapMs / 1000} s)\n`);
  const caller = { name: 'caller', pid: process.pid };
  const nats = { name: 'nats-server', pid: server.pid };

  // raw NATS request-reply: the peer of the direct paths.
  const natsPeer = await startPeer('nats', server.appEnv(Role.Admin));
  rows.rawNats = await measure('raw NATS request-reply', () => raw.request('bench.nats', body, { timeout: CALL_TIMEOUT_MS }), [caller, nats, { name: 'peer', pid: natsPeer.pid }]);
  await natsPeer.stop(5_000);

  // raw JetStream request-reply: the peer of the durable paths. One shared reply subscription on the caller's inbox.
  const jsPeer = await startPeer('jetstream', server.appEnv(Role.Admin));
  const js = jetstream(raw);
  const inbox = createInbox();
  const pending = new Map();
  let seq = 0;
  raw.subscribe(`${inbox}.>`, { callback: (_e, m) => pending.get(m.subject)?.resolve(m) });
  rows.rawJetStream = await measure('raw JetStream request-reply', async () => {
    const subject = `${inbox}.${++seq}`;
    let timer;
    const reply = new Promise((resolve, reject) => {
      pending.set(subject, { resolve });
      timer = setTimeout(() => reject(new Error('raw JetStream reply timed out')), CALL_TIMEOUT_MS);
    });
    try {
      const h = headers();
      h.set('Bench-Reply', subject);
      await js.publish('bench.js.req', body, { headers: h, timeout: CALL_TIMEOUT_MS });
      await reply;
    } finally {
      clearTimeout(timer);
      pending.delete(subject);
    }
  }, [caller, nats, { name: 'peer', pid: jsPeer.pid }]);
  await jsPeer.stop(5_000);

  // BullMQ request-reply on its own redis-server: the peer of the durable target lines. Stopped before taskmesh runs.
  if (setup.missing) {
    rows.bullmq1 = { name: 'BullMQ job round trip, 1 worker', status: `N/A: ${setup.missing}` };
    rows.bullmq2 = { name: 'BullMQ job round trip, 2 workers', status: `N/A: ${setup.missing}` };
  } else {
    const redisServer = await phase('start redis-server', START_TIMEOUT_MS, () => startRedisServer(setup.binary, group, START_TIMEOUT_MS));
    bullmq = await phase('open the BullMQ producer', START_TIMEOUT_MS, () =>
      openBullmqProducer(redisServer.port, { data: JSON.parse(body), callTimeoutMs: CALL_TIMEOUT_MS, inFlight: IN_FLIGHT }));
    const producer = { name: 'producer', pid: process.pid };
    const redisProc = { name: 'redis-server', pid: redisServer.pid };
    const peerEnv = { REDIS_PORT: String(redisServer.port) };
    const b1 = await startPeer('bullmq', peerEnv, 'bullmq-worker-1');
    await phase('first BullMQ job', START_TIMEOUT_MS, () =>
      waitFor(() => bullmq.call().then(() => true, () => false), { timeoutMs: START_TIMEOUT_MS, what: 'a BullMQ job that returns its data' }));
    rows.bullmq1 = await measure('BullMQ job round trip, 1 worker', bullmq.call, [producer, redisProc, { name: 'bullmq-worker-1', pid: b1.pid }]);
    const b2 = await startPeer('bullmq', peerEnv, 'bullmq-worker-2');
    rows.bullmq2 = await measure('BullMQ job round trip, 2 workers', bullmq.call, [producer, redisProc, { name: 'bullmq-worker-1', pid: b1.pid }, { name: 'bullmq-worker-2', pid: b2.pid }]);
    await phase('stop BullMQ', 20_000, async () => {
      await Promise.all([b1.stop(5_000), b2.stop(5_000)]);
      await bullmq.close(CLOSE_TIMEOUT_MS);
      bullmq = undefined;
      await redisServer.stop(5_000);
    });
  }

  // taskmesh as deployed: router and orchestrator (which records every call), then 1 and 2 workers.
  // Each app connects as its own role.
  const env = { MESH_HTTP_PORT: '0', LOG_LEVEL: 'warn' };
  const router = group.add(spawnApp('router', { ...server.appEnv(Role.Router), ...env }));
  const orchestrator = group.add(spawnApp('orchestrator', { ...server.appEnv(Role.Orchestrator), ...env }));
  const workerEnv = { ...server.appEnv(Role.Worker), ...env };
  await phase('start router and orchestrator', START_TIMEOUT_MS, () =>
    waitFor(() => workersListed().then(() => true, () => false), { timeoutMs: START_TIMEOUT_MS, what: 'the router to answer mesh.workers.list' }));
  const mesh = [caller, nats, { name: 'router', pid: router.pid }, { name: 'orchestrator', pid: orchestrator.pid }];
  const w1 = group.add(spawnApp('worker', { ...workerEnv, MESH_WORKER_ID: 'bench-w1' }, { name: 'worker-1' }));
  const callEcho = meshCall('echo', body);
  await phase('first mesh.call.echo', START_TIMEOUT_MS, () =>
    waitFor(() => callEcho().then(() => true, () => false), { timeoutMs: START_TIMEOUT_MS, what: 'a successful mesh.call.echo' }));
  rows.durable1 = await measure('mesh.call durable, 1 worker', callEcho, [...mesh, { name: 'worker-1', pid: w1.pid }]);

  // Direct: the router places the call on the worker's own topic; no JetStream on the path.
  const callEchoDirect = meshCall('echo', JSON.stringify({ args: { n: 1 }, delivery: 'direct' }));
  rows.direct1 = await measure('mesh.call direct, 1 worker', callEchoDirect, [...mesh, { name: 'worker-1', pid: w1.pid }]);
  // SDK direct: a client's smart mode (@taskmesh/client DirectPath, default settings) sends the call straight to the
  // worker's topic with its own reply subject; the router and orchestrator stay idle (their CPU shows it).
  const sdk = await phase('open the SDK direct path', START_TIMEOUT_MS, async () => {
    const path = await createDirectPath(nc, { prefix: 'mesh', expiresAfterMs: 15_000 });
    await waitFor(() => path.accepts('echo', { delivery: 'direct' }), { timeoutMs: START_TIMEOUT_MS, what: 'the SDK to know a live worker offering echo' });
    return path;
  });
  const sdkEcho = async () => {
    const r = await sdk.call('echo', { n: 1 }, { delivery: 'direct', timeoutMs: CALL_TIMEOUT_MS });
    if (r.state !== 'SUCCESS') throw new Error(`SDK direct: ${r.failure?.code}: ${r.failure?.message}`);
  };
  rows.sdk1 = await measure('SDK direct, 1 worker', sdkEcho, [...mesh, { name: 'worker-1', pid: w1.pid }]);

  const w2 = group.add(spawnApp('worker', { ...workerEnv, MESH_WORKER_ID: 'bench-w2' }, { name: 'worker-2' }));
  await phase('second worker', START_TIMEOUT_MS, () =>
    waitFor(async () => (await workersListed()).length === 2, { timeoutMs: START_TIMEOUT_MS, what: '2 workers in mesh.workers.list' }));
  rows.durable2 = await measure('mesh.call durable, 2 workers', callEcho, [...mesh, { name: 'worker-1', pid: w1.pid }, { name: 'worker-2', pid: w2.pid }]);
  rows.direct2 = await measure('mesh.call direct, 2 workers', callEchoDirect, [...mesh, { name: 'worker-1', pid: w1.pid }, { name: 'worker-2', pid: w2.pid }]);
  await phase('the SDK learns the second worker', START_TIMEOUT_MS, () =>
    waitFor(() => sdk.workers().length === 2, { timeoutMs: START_TIMEOUT_MS, what: '2 workers in the SDK registry' }));
  rows.sdk2 = await measure('SDK direct, 2 workers', sdkEcho, [...mesh, { name: 'worker-1', pid: w1.pid }, { name: 'worker-2', pid: w2.pid }]);
  await sdk.close();
  await phase('stop the echo workers', 20_000, () => Promise.all([w1.stop(15_000), w2.stop(15_000)]));

  // Scaling on tasks that wait (I/O-like): workers with 8 slots each, `sleep` 20 ms, 64 in flight.
  const sleepCall = meshCall('sleep', JSON.stringify({ args: { ms: 20 } }));
  const sleepThroughput = (name) => phase(name, C.sleepMs + 2 * CALL_TIMEOUT_MS, async () => {
    let done = 0;
    let errors = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() - t0 < C.sleepMs) {
        try {
          await sleepCall();
          done++;
        } catch {
          errors++;
        }
      }
    }));
    return { name, tp: { inFlight: IN_FLIGHT, calls: done, seconds: (performance.now() - t0) / 1000, perSec: done / ((performance.now() - t0) / 1000), errors } };
  });
  const slotEnv = { ...workerEnv, MESH_WORKER_CONCURRENCY: '8' };
  const s1 = group.add(spawnApp('worker', { ...slotEnv, MESH_WORKER_ID: 'sleep-w1' }, { name: 'sleep-w1' }));
  await phase('sleep worker 1', START_TIMEOUT_MS, () =>
    waitFor(() => sleepCall().then(() => true, () => false), { timeoutMs: START_TIMEOUT_MS, what: 'a successful mesh.call.sleep' }));
  rows.sleep1 = await sleepThroughput('sleep 20 ms, 1 worker x 8 slots');
  const s2 = group.add(spawnApp('worker', { ...slotEnv, MESH_WORKER_ID: 'sleep-w2' }, { name: 'sleep-w2' }));
  await phase('sleep worker 2', START_TIMEOUT_MS, () =>
    waitFor(async () => (await workersListed()).some((w) => w.id === 'sleep-w2'), { timeoutMs: START_TIMEOUT_MS, what: 'sleep-w2 in mesh.workers.list' }));
  rows.sleep2 = await sleepThroughput('sleep 20 ms, 2 workers x 8 slots');
  await phase('stop the sleep workers', 20_000, () => Promise.all([s1.stop(15_000), s2.stop(15_000)]));

  // Heartbeat under CPU saturation: one worker (notify period 250 ms) kept busy with `spin` tasks (a busy loop on
  // the worker's event loop), BEAT_SLOTS of them at once; the gaps between its NOTIFY messages.
  const beatWorker = group.add(spawnApp('worker', { ...workerEnv, MESH_WORKER_ID: 'beat-w', MESH_WORKER_CONCURRENCY: String(BEAT_SLOTS), MESH_NOTIFY_PERIOD_MS: String(BEAT_PERIOD_MS), MESH_EXPIRES_AFTER_MS: String(4 * BEAT_PERIOD_MS) }, { name: 'beat-w' }));
  rows.heartbeat = await phase('heartbeat under spin', C.beatMs + START_TIMEOUT_MS + 2 * CALL_TIMEOUT_MS, async () => {
    const spin = meshCall('spin', JSON.stringify({ args: { ms: 200 } }));
    await waitFor(() => spin().then(() => true, () => false), { timeoutMs: START_TIMEOUT_MS, what: 'a successful mesh.call.spin' });
    const beats = [];
    const sub = nc.subscribe('mesh.notify', {
      callback: (_e, m) => {
        try {
          if (m.json().worker === 'beat-w') beats.push(performance.now());
        } catch { /* not ours */ }
      },
    });
    let spins = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: BEAT_SLOTS }, async () => {
      while (performance.now() - t0 < C.beatMs) {
        await spin().then(() => spins++, () => undefined);
      }
    }));
    sub.unsubscribe();
    const gaps = beats.slice(1).map((t, i) => t - beats[i]).sort((a, b) => a - b);
    const cpu = cpuMicros(beatWorker.pid);
    if (spins === 0) notes.push('heartbeat phase: no spin call succeeded, so the worker was not busy: the heartbeat line measures an idle worker');
    return { name: 'worker heartbeat while spin saturates it', periodMs: BEAT_PERIOD_MS, beats: beats.length, spins, maxGapMs: gaps.at(-1) ?? NaN, p50GapMs: percentile(gaps, 50), workerCpuS: cpu === undefined ? undefined : cpu / 1e6 };
  });
  await Promise.all([nc.close(), raw.close()]);
  nc = undefined;
  raw = undefined;
  currentPhase = 'report';

  // ---- report -------------------------------------------------------------------------------------------------------
  const fmt = (v, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  const rate = (v) => (Number.isFinite(v) ? Math.round(v).toString() : '-');
  const peerOf = { bullmq1: 'rawJetStream', bullmq2: 'rawJetStream', durable1: 'rawJetStream', durable2: 'rawJetStream', direct1: 'rawNats', direct2: 'rawNats', sdk1: 'rawNats', sdk2: 'rawNats' };
  const lines = [];
  lines.push(`${'path'.padEnd(36)}${'p50 ms'.padStart(8)}${'p99 ms'.padStart(9)}${'calls/s'.padStart(9)}   vs peer (p50 ratio, calls/s ratio)`);
  for (const key of ['rawNats', 'rawJetStream', 'bullmq1', 'bullmq2', 'durable1', 'durable2', 'direct1', 'direct2', 'sdk1', 'sdk2']) {
    const r = rows[key];
    if (r.status) {
      lines.push(`${r.name.padEnd(36)}${r.status}`);
      continue;
    }
    const peer = rows[peerOf[key]];
    let vs = key === 'rawNats' ? 'peer of direct' : key === 'rawJetStream' ? 'peer of durable' : '';
    if (peer && !peer.status) {
      r.vsPeer = { peer: peer.name, p50Ratio: r.seq.p50 / peer.seq.p50, throughputRatio: r.tp.perSec / peer.tp.perSec };
      vs = `${fmt(r.vsPeer.p50Ratio, 2)}x, ${fmt(r.vsPeer.throughputRatio, 2)}x raw ${peerOf[key] === 'rawNats' ? 'NATS' : 'JetStream'}`;
    }
    const errs = r.seq.errors + r.tp.errors ? `  (${r.seq.errors + r.tp.errors} errors)` : '';
    lines.push(`${r.name.padEnd(36)}${fmt(r.seq.p50).padStart(8)}${fmt(r.seq.p99).padStart(9)}${rate(r.tp.perSec).padStart(9)}   ${vs}${errs}`);
  }
  for (const key of ['sleep1', 'sleep2']) {
    const r = rows[key];
    lines.push(`${r.name.padEnd(36)}${''.padStart(17)}${rate(r.tp.perSec).padStart(9)}${r.tp.errors ? `   (${r.tp.errors} errors)` : ''}`);
  }
  const hb = rows.heartbeat;
  lines.push(`${'heartbeat while spin saturates'.padEnd(36)}period ${hb.periodMs} ms, ${hb.beats} beats, median gap ${fmt(hb.p50GapMs, 0)} ms, max gap ${fmt(hb.maxGapMs, 0)} ms (${fmt(hb.maxGapMs / hb.periodMs, 2)}x), ${hb.spins} spins`);

  lines.push('');
  lines.push(`CPU per call at ${IN_FLIGHT} in flight, µs (sum over processes; "busy" = CPU used / wall time, ${cpus().length} cores = ${cpus().length * 100}%):`);
  for (const key of ['rawNats', 'rawJetStream', 'bullmq1', 'bullmq2', 'durable1', 'durable2', 'direct1', 'direct2', 'sdk1', 'sdk2']) {
    if (rows[key].status) continue;
    const { cpu } = rows[key];
    const parts = Object.entries(cpu.perProcess).map(([n, us]) => `${n} ${us}`).join(', ');
    lines.push(`  ${rows[key].name.padEnd(34)}${String(cpu.totalUs).padStart(5)} µs, busy ${cpu.busyPct}%: ${parts}`);
  }
  lines.push('');
  lines.push('nats-server per call at 64 in flight (its monitoring counters): messages in / out, messages stored:');
  for (const key of ['rawNats', 'rawJetStream', 'durable1', 'durable2', 'direct1', 'direct2', 'sdk1', 'sdk2']) {
    const sv = rows[key].status ? undefined : rows[key].server;
    if (sv) lines.push(`  ${rows[key].name.padEnd(34)}${String(sv.msgsIn).padStart(5)} / ${sv.msgsOut}, stored ${sv.stored}`);
  }

  const best = Math.max(rows.durable1.tp.perSec, rows.durable2.tp.perSec);
  const bestDirect = Math.max(rows.direct1.tp.perSec, rows.direct2.tp.perSec);
  const bestSdk = Math.max(rows.sdk1.tp.perSec, rows.sdk2.tp.perSec);
  // The BullMQ lines compare with BullMQ measured in this run (best of its 1 and 2 workers; its 1 worker for p50).
  const bullmqBest = setup.missing ? undefined : Math.max(rows.bullmq1.tp.perSec, rows.bullmq2.tp.perSec);
  const bullmqTarget = (t) => (setup.missing ? { what: t.what, status: setup.missing } : { ...t, measuredGoal: true });
  const targets = [
    { what: 'durable calls/s >= 0.5x raw JetStream request-reply (best of 1 and 2 workers)', value: best / rows.rawJetStream.tp.perSec, goal: 0.5, op: '>=', unit: 'x' },
    bullmqTarget({ what: 'durable calls/s >= BullMQ jobs/s in this run (best of 1 and 2 workers each)', value: best, goal: bullmqBest, op: '>=', unit: '/s' }),
    bullmqTarget({ what: 'durable sequential p50 <= BullMQ job round trip p50 in this run (1 worker each)', value: rows.durable1.seq.p50, goal: rows.bullmq1.seq?.p50, op: '<=', unit: ' ms' }),
    { what: 'direct calls/s >= 0.5x raw NATS request-reply (best of 1 and 2 workers)', value: bestDirect / rows.rawNats.tp.perSec, goal: 0.5, op: '>=', unit: 'x' },
    { what: 'SDK direct calls/s >= 0.8x raw NATS request-reply (best of 1 and 2 workers)', value: bestSdk / rows.rawNats.tp.perSec, goal: 0.8, op: '>=', unit: 'x' },
    { what: `SDK direct calls/s > Moleculer's ${MOLECULER_CALLS_PER_SEC / 1000}k/s on this class of machine (best of 1 and 2 workers)`, value: bestSdk, goal: MOLECULER_CALLS_PER_SEC, op: '>', unit: '/s', measuredGoal: true },
    { what: 'direct sequential p50 <= 2x raw NATS request-reply (1 worker)', value: rows.direct1.seq.p50 / rows.rawNats.seq.p50, goal: 2, op: '<=', unit: 'x' },
    { what: 'heartbeat period within 20% while spin saturates the worker (max gap / period)', value: hb.maxGapMs / hb.periodMs, goal: 1.2, op: '<=', unit: 'x' },
    { what: 'calls/s with 2 workers >= 1 worker on tasks that wait (sleep 20 ms)', value: rows.sleep2.tp.perSec / rows.sleep1.tp.perSec, goal: 1, op: '>=', unit: 'x' },
  ];
  lines.push('');
  lines.push('Performance targets (information, not a test):');
  for (const t of targets) {
    if (t.status) {
      t.result = 'N/A';
      lines.push(`  N/A   ${t.what}: ${t.status}`);
      continue;
    }
    const met = { '>=': t.value >= t.goal, '>': t.value > t.goal, '<=': t.value <= t.goal }[t.op];
    t.result = met ? 'PASS' : 'FAIL';
    const show = (v) => (t.unit === '/s' ? Math.round(v).toString() : fmt(v, 2)) + t.unit;
    lines.push(`  ${t.result}  ${t.what}: ${show(t.value)}${t.measuredGoal ? ` against ${show(t.goal)}` : ''}`);
  }
  const loadAtEnd = loadavg()[0];
  if (loadAtEnd > 0.5 * cpus().length + 1.5) notes.push(`load average ${loadAtEnd.toFixed(2)} at the end: more than this run's own processes were busy`);
  for (const n of notes) lines.push(`note: ${n}`);
  console.log(lines.join('\n'));

  mkdirSync('.tmp', { recursive: true });
  writeFileSync('.tmp/bench.json', `${JSON.stringify({
    at: new Date().toISOString(), quick, node: process.version, natsServer, cores: cpus().length, loadAtStart: load, loadAtEnd,
    bullmq: setup.missing ? { missing: setup.missing } : { bullmq: setup.bullmq, ioredis: setup.ioredis, redisServer: setup.redisServer, concurrency: BULLMQ_CONCURRENCY },
    config: { ...C, inFlight: IN_FLIGHT, callTimeoutMs: CALL_TIMEOUT_MS }, rows, targets, notes, table: lines,
  }, null, 2)}\n`);
  console.log('\nbench: wrote .tmp/bench.json');
  await shutdown(0);
} catch (err) {
  await shutdown(1, `bench failed in phase "${currentPhase}": ${err?.stack ?? err}`);
}
