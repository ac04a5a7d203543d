import { keyShard } from '@taskmesh/protocol';
import { waitFor } from '@taskmesh/testing';
import { ownedShards } from '@taskmesh/worker-core';
import { startMesh, type Mesh, type Response } from './support/mesh-fixture.js';

const SHARDS = 16;
const KEYS = 5;
const PER_KEY = 20;
const SLEEP_MS = 150;
const ENV = { MESH_NOTIFY_PERIOD_MS: '200', MESH_EXPIRES_AFTER_MS: '1000', MESH_KEY_SHARDS: String(SHARDS) };

interface Run {
  worker: string;
  startedAt: string;
  finishedAt: string;
  attempt: number;
  invocationId: string;
}

/**
 * Five keys in five different shards, at least one of which a 4th worker (w4) would own: so a worker joining
 * visibly takes keyed work over.
 */
function pickKeys(): string[] {
  const w4 = new Set(ownedShards('w4', ['w1', 'w2', 'w3', 'w4'], SHARDS));
  const keys: string[] = [];
  const used = new Set<number>();
  for (let n = 0; keys.length < KEYS; n++) {
    const key = `customer-${n}`;
    const shard = keyShard(key, SHARDS);
    if (used.has(shard)) continue;
    // The first key goes to w4 once it joins; the others anywhere.
    if (keys.length === 0 && !w4.has(shard)) continue;
    used.add(shard);
    keys.push(key);
  }
  return keys;
}

/** What a run of keyed (and unkeyed) sleeps measured. */
interface Measured {
  /** Per key, runs that started before the previous run of their key had finished. */
  overlaps: number;
  /** Per key, runs that started out of submission order. */
  outOfOrder: number;
  /** The longest a key waited between one run's end and its next run's start (ms). */
  maxGapMs: number;
  /** Pairs of runs of different keys that ran at the same time. */
  crossKeyOverlaps: number;
  /** The most unkeyed runs at once. */
  unkeyedParallel: number;
  failures: string[];
  retried: number;
  byWorker: Record<string, number>;
  elapsedMs: number;
}

// Invocations with the same key run one at a time, in acceptance order, on any worker (docs/PROTOCOL.md 4.1), across
// worker kill -9, a worker joining, and router and orchestrator restarts; different keys and unkeyed work run in
// parallel (docs/ARCHITECTURE.md, "Keyed order").
describe('keyed order (durable)', () => {
  let mesh: Mesh;
  const finals = new Map<string, Response>();
  const running = new Map<string, string>();
  /** `<id> <state> <attempt>` of every invocation event, in the order this subscriber got them. */
  const arrivals: string[] = [];
  const keys = pickKeys();

  beforeAll(async () => {
    mesh = await startMesh({ workers: 3, orchestrators: 1, env: ENV, workerEnv: { MESH_ACK_WAIT_MS: '2000', MESH_WORKER_CONCURRENCY: '8' } });
    mesh.admin.subscribe('mesh.events.invocation.>', {
      callback: (_e, m) => {
        const r = m.json<Response>();
        if (!r.id) return;
        arrivals.push(`${r.id} ${r.state} ${r.attempt ?? ''}`.trim());
        if (r.state === 'RUNNING' && r.worker) running.set(r.id, r.worker);
        if (r.state === 'SUCCESS' || r.state === 'FAILURE') finals.set(r.id, r);
      },
    });
    await mesh.admin.flush();
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  /** Submits until the router accepts (it may be restarting): acceptance order is submission order. */
  const submit = async (body: Record<string, unknown>, task = 'sleep'): Promise<void> => {
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      let reply: Response | undefined;
      try {
        reply = (await mesh.nc.request(`mesh.submit.${task}`, JSON.stringify(body), { timeout: 3000 })).json<Response>();
      } catch {
        // No router right now (it is restarting): the same id again is accepted once, however often it is sent.
      }
      if (reply?.state === 'WAITING') return;
      if (reply !== undefined && reply.data?.failure?.retryable !== true) throw new Error(`submit ${String(body['id'])} refused: ${JSON.stringify(reply)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`submit ${String(body['id'])}: no router accepted it within 30 s`);
  };

  /**
   * Submits PER_KEY sleeps per key (each key in order, the keys side by side) plus `unkeyed` plain sleeps, calls
   * `during` once `afterDone` keyed runs have finished, waits for every outcome, and measures.
   */
  const run = async (name: string, opts: { unkeyed?: number; sleepMs?: number; afterDone?: number; during?: () => Promise<void> } = {}): Promise<Measured> => {
    const started = Date.now();
    const sleepMs = opts.sleepMs ?? SLEEP_MS;
    const ids = keys.map((key) => Array.from({ length: PER_KEY }, (_, i) => `${name}-${key}-${i}`));
    const unkeyedIds = Array.from({ length: opts.unkeyed ?? 0 }, (_, i) => `${name}-plain-${i}`);
    const submitting = Promise.all([
      ...keys.map(async (key, k) => {
        for (const id of ids[k]) await submit({ args: { ms: sleepMs }, id, key, timeoutMs: 60_000 });
      }),
      ...unkeyedIds.map((id) => submit({ args: { ms: 1000 }, id, timeoutMs: 60_000 })),
    ]);
    if (opts.during) {
      await waitFor(() => ids.flat().filter((id) => finals.has(id)).length >= (opts.afterDone ?? 0), { timeoutMs: 30_000, what: `${opts.afterDone} keyed runs done` });
      await opts.during();
    }
    await submitting;
    const all = [...ids.flat(), ...unkeyedIds];
    await waitFor(() => all.every((id) => finals.has(id)), { timeoutMs: 90_000, what: `all ${all.length} outcomes of ${name}` });
    const elapsedMs = Date.now() - started;
    const runOf = (id: string): Run => finals.get(id)!.data!.result as Run;
    const failures = all.filter((id) => finals.get(id)!.state !== 'SUCCESS').map((id) => `${id}: ${JSON.stringify(finals.get(id)!.data)}`);
    let overlaps = 0;
    let outOfOrder = 0;
    let maxGapMs = 0;
    const spans: { key: string; from: number; to: number }[] = [];
    for (const [k, key] of keys.entries()) {
      const runs = ids[k].filter((id) => finals.get(id)?.state === 'SUCCESS').map(runOf);
      for (let i = 1; i < runs.length; i++) {
        const gap = Date.parse(runs[i].startedAt) - Date.parse(runs[i - 1].finishedAt);
        if (gap < 0) overlaps += 1;
        maxGapMs = Math.max(maxGapMs, gap);
      }
      const byStart = [...runs].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt)).map((r) => r.invocationId);
      outOfOrder += byStart.filter((id, i) => id !== runs[i].invocationId).length;
      for (const r of runs) spans.push({ key, from: Date.parse(r.startedAt), to: Date.parse(r.finishedAt) });
    }
    let crossKeyOverlaps = 0;
    for (const a of spans) for (const b of spans) if (a.key < b.key && a.from < b.to && b.from < a.to) crossKeyOverlaps += 1;
    const plain = unkeyedIds.filter((id) => finals.get(id)?.state === 'SUCCESS').map(runOf).map((r) => [Date.parse(r.startedAt), Date.parse(r.finishedAt)]);
    const unkeyedParallel = Math.max(0, ...plain.map(([from]) => plain.filter(([f, t]) => f <= from && from < t).length));
    const successes = all.filter((id) => finals.get(id)!.state === 'SUCCESS').map(runOf);
    const byWorker: Record<string, number> = {};
    for (const r of successes) byWorker[r.worker] = (byWorker[r.worker] ?? 0) + 1;
    const measured: Measured = { overlaps, outOfOrder, maxGapMs, crossKeyOverlaps, failures, retried: successes.filter((r) => r.attempt > 1).length, byWorker, elapsedMs, unkeyedParallel };
    console.log(`keyed order, ${name}: ${KEYS} keys x ${PER_KEY} sleeps (${sleepMs} ms)${unkeyedIds.length ? ` + ${unkeyedIds.length} unkeyed (1000 ms)` : ''}: `
      + `overlaps within a key ${overlaps}, starts out of submission order ${outOfOrder}, failures ${failures.length}, `
      + `longest wait of a key between runs ${maxGapMs} ms, overlapping runs of different keys ${crossKeyOverlaps}, max unkeyed at once ${unkeyedParallel}, second attempts ${measured.retried}, `
      + `runs per worker ${JSON.stringify(byWorker)}, ${elapsedMs} ms`);
    return measured;
  };

  it('runs each key one at a time in submission order on 3 workers, keys in parallel, unkeyed work in parallel', async () => {
    const m = await run('base', { unkeyed: 24 });
    expect(m.failures).toEqual([]);
    expect([m.overlaps, m.outOfOrder]).toEqual([0, 0]);
    expect(m.crossKeyOverlaps).toBeGreaterThan(0);
    // 24 one-second sleeps on 24 slots: they ran side by side, not one after the other.
    expect(m.unkeyedParallel).toBeGreaterThanOrEqual(8);
    expect(Object.keys(m.byWorker).length).toBeGreaterThan(1);
  }, 120_000);

  it('keeps a retried invocation in its place: the key\'s next one waits out its backoff and its retries', async () => {
    // `fail` fails retryably until its 3rd attempt (backoff 200 ms, doubling); three sleeps of the same key follow.
    const key = 'retry-key';
    await submit({ args: { retryable: true, untilAttempt: 3 }, id: 'retry-first', key, timeoutMs: 60_000 }, 'fail');
    const sleeps = ['retry-s1', 'retry-s2', 'retry-s3'];
    for (const id of sleeps) await submit({ args: { ms: 100 }, id, key, timeoutMs: 60_000 });
    await waitFor(() => ['retry-first', ...sleeps].every((id) => finals.has(id)), { timeoutMs: 30_000, what: 'the retried call and the sleeps' });
    const first = finals.get('retry-first')!;
    expect([first.state, first.attempt]).toEqual(['SUCCESS', 3]);
    const runs = sleeps.map((id) => finals.get(id)!.data!.result as Run);
    // One server, and each step causes the next (outcome recorded, then acked, then the shard's next delivered and
    // started): the events reach this subscriber in that order.
    const seen = arrivals.filter((a) => a.startsWith('retry-') && !a.includes(' EVENT'));
    console.log(`keyed order, retry: ${seen.join(' | ')}`);
    const at = (event: string): number => seen.indexOf(event);
    expect([at('retry-first RUNNING 1'), at('retry-first WAITING 1'), at('retry-first RUNNING 2'), at('retry-first WAITING 2'), at('retry-first RUNNING 3')].every((i) => i >= 0 && i < at('retry-first SUCCESS 3'))).toBe(true);
    expect(at('retry-first SUCCESS 3')).toBeLessThan(at('retry-s1 RUNNING 1'));
    for (let i = 1; i < runs.length; i++) expect(Date.parse(runs[i].startedAt)).toBeGreaterThanOrEqual(Date.parse(runs[i - 1].finishedAt));
  }, 60_000);

  it('keeps the order when a 4th worker joins mid-run and takes some keys over', async () => {
    // Longer sleeps: the run outlasts w4's start (about 2 s) by seconds.
    const m = await run('join', { sleepMs: 300, afterDone: 5, during: async () => void (await mesh.addWorker('w4')) });
    expect(m.failures).toEqual([]);
    expect([m.overlaps, m.outOfOrder]).toEqual([0, 0]);
    // The first key's shard belongs to w4 once it is heard: it ran some of that key's later invocations.
    expect(m.byWorker['w4'] ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('keeps the order when a worker running keyed work is killed -9 (its work is redelivered first)', async () => {
    const m = await run('kill', {
      afterDone: 20,
      during: async () => {
        // Kill a worker while it is running a keyed invocation (its RUNNING seen, its outcome not).
        let victim: string | undefined;
        await waitFor(() => (victim = [...running].find(([id]) => id.startsWith('kill-customer') && !finals.has(id))?.[1]), { timeoutMs: 10_000, what: 'a keyed run in progress' });
        mesh.workers.find((w) => w.name === victim)!.kill('SIGKILL');
        console.log(`keyed order, kill: killed ${victim}`);
      },
    });
    expect(m.failures).toEqual([]);
    expect([m.overlaps, m.outOfOrder]).toEqual([0, 0]);
    expect(m.retried).toBeGreaterThan(0);
  }, 120_000);

  it('keeps the order when a worker running keyed work is stopped (drain), and its keys move on at once', async () => {
    const m = await run('drain', {
      afterDone: 20,
      during: async () => {
        let victim: string | undefined;
        await waitFor(() => (victim = [...running].find(([id]) => id.startsWith('drain-customer') && !finals.has(id))?.[1]), { timeoutMs: 10_000, what: 'a keyed run in progress' });
        // SIGTERM: it finishes what runs and beats on offering nothing, so the others take its shards over now.
        const stopped = mesh.workers.find((w) => w.name === victim)!.stop();
        console.log(`keyed order, drain: stopping ${victim}`);
        await stopped;
      },
    });
    expect(m.failures).toEqual([]);
    expect([m.overlaps, m.outOfOrder]).toEqual([0, 0]);
    // Its keys waited for less than the time it takes to notice a silent worker (MESH_EXPIRES_AFTER_MS 1000).
    expect(m.maxGapMs).toBeLessThan(1000);
  }, 120_000);

  it('keeps the order across a router restart and an orchestrator kill -9 mid-run', async () => {
    const m = await run('restart', {
      afterDone: 20,
      during: async () => {
        // The router stops (SIGTERM: a rolling restart; callers retry with the same id) and another one starts.
        await mesh.router.stop();
        mesh.orchestrators[0].kill('SIGKILL');
        await mesh.addRouter('router-2');
        await mesh.addOrchestrator();
      },
    });
    expect(m.failures).toEqual([]);
    expect([m.overlaps, m.outOfOrder]).toEqual([0, 0]);
  }, 120_000);
});
