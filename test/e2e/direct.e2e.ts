import { jetstreamManager } from '@nats-io/jetstream';
import type { Msg, Subscription } from '@nats-io/transport-node';
import { waitFor } from '@taskmesh/testing';
import { startMesh, type Mesh, type Response } from './support/mesh-fixture.js';

/** Every report a worker sends on the routers' reply subjects, by invocation id, in arrival order. */
function watchReports(mesh: Mesh): { byId: Map<string, Response[]>; sub: Subscription } {
  const byId = new Map<string, Response[]>();
  const sub = mesh.admin.subscribe('mesh.reply.>', {
    callback: (_e, m: Msg) => {
      const r = m.json<Response>();
      if (!r.id) return;
      byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
    },
  });
  return { byId, sub };
}

const direct = (mesh: Mesh, task: string, args: unknown, extra: Record<string, unknown> = {}, waitMs = 20_000): Promise<Response> =>
  mesh.request(task, { args, delivery: 'direct', ...extra }, waitMs).then((m) => m.json<Response>());

type Run = { worker: string; startedAt: string; finishedAt: string; attempt: number };

// Direct delivery with the default worker expiry (15 s): no stream on the path, bounds, and the pickup deadline.
describe('direct delivery', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh({ workers: 1, workerEnv: { MESH_WORKER_CONCURRENCY: '1', MESH_DIRECT_QUEUE: '2' } });
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  /** last_seq of every stream: a stored message moves it, whatever consumed or removed it since. */
  const streamSeqs = async (): Promise<Record<string, number>> => {
    const jsm = await jetstreamManager(mesh.admin);
    const out: Record<string, number> = {};
    for await (const s of jsm.streams.list()) out[s.config.name] = s.state.last_seq;
    return out;
  };

  it('answers echo straight from the worker and adds no message to any stream', async () => {
    const before = await streamSeqs();
    const results = [];
    for (let i = 0; i < 50; i++) results.push(await direct(mesh, 'echo', { i }));
    expect(results.map((r) => r.state)).toEqual(Array(50).fill('SUCCESS'));
    expect(results.map((r) => (r.data?.result as { i: number }).i)).toEqual([...Array(50).keys()]);
    expect(results.every((r) => r.worker === 'w1' && r.attempt === 1)).toBe(true);
    expect(await streamSeqs()).toEqual(before);
  }, 30_000);

  it('delivers a task declared direct that way when the call names no delivery; the call\'s own delivery wins', async () => {
    const before = await streamSeqs();
    const ping = await mesh.request('ping', {}).then((m) => m.json<Response>());
    expect(ping).toMatchObject({ state: 'SUCCESS', data: { result: { pong: true, worker: 'w1' } } });
    expect(await streamSeqs()).toEqual(before);
    const durable = await mesh.request('ping', { delivery: 'durable' }).then((m) => m.json<Response>());
    expect(durable.state).toBe('SUCCESS');
    expect((await streamSeqs())['MESH_WORK']).toBe(before['MESH_WORK'] + 1);
  }, 30_000);

  it('answers OVERLOADED past the worker\'s bound, never silence', async () => {
    // One slot and room for 2 waiting: of 8 calls at once, 3 run and 5 are refused at once.
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 8 }, () => direct(mesh, 'sleep', { ms: 400 })));
    const codes = results.map((r) => (r.state === 'SUCCESS' ? 'SUCCESS' : r.data?.failure?.code)).sort();
    expect(codes).toEqual([...Array(5).fill('OVERLOADED'), ...Array(3).fill('SUCCESS')]);
    expect(results.filter((r) => r.state === 'FAILURE').every((r) => r.data?.failure?.retryable === true)).toBe(true);
    console.log(`direct bound: 8 calls on 1 slot + 2 waiting -> ${codes.join(', ')} in ${Math.round(performance.now() - started)} ms`);
  }, 30_000);

  it('answers TIMEOUT when no worker starts the call by its deadline, and the call never runs later', async () => {
    const w1 = mesh.workers[0];
    const { byId, sub } = watchReports(mesh);
    w1.kill('SIGSTOP');
    let answer: Response;
    try {
      const t0 = performance.now();
      answer = await direct(mesh, 'echo', { late: true }, { timeoutMs: 300 });
      console.log(`direct pickup timeout: answered ${answer.data?.failure?.code} after ${Math.round(performance.now() - t0)} ms (deadline 300 ms)`);
    } finally {
      w1.kill('SIGCONT');
    }
    expect(answer).toMatchObject({ state: 'FAILURE', data: { failure: { code: 'TIMEOUT' } } });
    // Awake again, the worker reads the request it got while stopped: it refuses it (past its deadline).
    const reports = await waitFor(() => byId.get(answer.id!)?.length && byId.get(answer.id!), { timeoutMs: 10_000, what: 'the woken worker to report on the late request' });
    expect(reports.map((r) => [r.state, r.data?.failure?.code])).toEqual([['FAILURE', 'TIMEOUT']]);
    await mesh.router.waitForLine(new RegExp(`late direct report rejected.*${answer.id}`), 5000);
    // And it keeps serving.
    expect((await direct(mesh, 'echo', 1)).state).toBe('SUCCESS');
    sub.unsubscribe();
  }, 30_000);
});

// Direct delivery when workers are lost: a short expiry so the router notices within about a second.
describe('direct delivery, worker loss', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh({ workers: 2, env: { MESH_NOTIFY_PERIOD_MS: '200', MESH_EXPIRES_AFTER_MS: '1000' } });
  }, 60_000);
  afterAll(async () => {
    for (const w of mesh?.workers ?? []) w.kill('SIGCONT');
    await mesh?.stop();
  }, 30_000);

  /** Calls `task` direct and returns the answer and the worker that reported RUNNING first. */
  const startOne = async (task: string, ms: number): Promise<{ answer: Promise<Response>; worker: string; id: string; reports: Map<string, Response[]>; sub: Subscription }> => {
    const { byId, sub } = watchReports(mesh);
    await mesh.admin.flush();
    const answer = direct(mesh, task, { ms }, {}, 30_000);
    const [id, reports] = await waitFor(() => [...byId].find(([, rs]) => rs.some((r) => r.state === 'RUNNING')), { timeoutMs: 10_000, what: `${task} to start` });
    return { answer, worker: reports[0].worker!, id, reports: byId, sub };
  };
  const live = (name: string) => mesh.workers.find((w) => w.name === name)!;

  it('places a call with a key on its owner every time, and runs them one at a time in the order sent', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => direct(mesh, 'sleep', { ms: 50 }, { key: 'customer-42' })));
    const runs = results.map((r) => r.data?.result as Run);
    expect(results.every((r) => r.state === 'SUCCESS')).toBe(true);
    expect(new Set(runs.map((r) => r.worker)).size).toBe(1);
    for (let i = 1; i < runs.length; i++) expect(Date.parse(runs[i].startedAt)).toBeGreaterThanOrEqual(Date.parse(runs[i - 1].finishedAt));
  }, 30_000);

  it('sends an idempotent task again to another worker when its worker is killed -9 mid-run', async () => {
    const { answer, worker, id, sub } = await startOne('sleep', 2500);
    const killedAt = performance.now();
    live(worker).kill('SIGKILL');
    const r = await answer;
    sub.unsubscribe();
    expect(r).toMatchObject({ id, state: 'SUCCESS', attempt: 2 });
    expect(r.worker).not.toBe(worker);
    console.log(`direct recovery: ${id} killed on ${worker}, answered by ${r.worker} (attempt 2) ${Math.round(performance.now() - killedAt)} ms after the kill (expiry 1000 ms, task 2500 ms)`);
    await mesh.addWorker(`${worker}b`);
  }, 40_000);

  it('answers WORKER_LOST when the worker of a non-idempotent task is killed -9 mid-run', async () => {
    const { answer, worker, id, sub } = await startOne('sleep-once', 5000);
    live(worker).kill('SIGKILL');
    const r = await answer;
    sub.unsubscribe();
    expect(r).toMatchObject({ id, state: 'FAILURE', data: { failure: { code: 'WORKER_LOST', retryable: false } } });
    await mesh.addWorker(`${worker}c`);
  }, 40_000);

  it('rejects the late result of a SIGSTOPped worker after SIGCONT; the caller got the other worker\'s', async () => {
    const { answer, worker, id, reports, sub } = await startOne('sleep', 1500);
    const frozen = live(worker);
    frozen.kill('SIGSTOP');
    let r: Response;
    try {
      r = await answer;
    } finally {
      frozen.kill('SIGCONT');
    }
    expect(r).toMatchObject({ id, state: 'SUCCESS', attempt: 2 });
    expect(r.worker).not.toBe(worker);
    // The woken worker finishes its attempt 1 and reports it: the router rejects it.
    await waitFor(() => reports.get(id)?.some((x) => x.worker === worker && x.state === 'SUCCESS'), { timeoutMs: 10_000, what: 'the woken worker\'s late result' });
    await mesh.router.waitForLine(new RegExp(`late direct report rejected.*${id}`), 5000);
    sub.unsubscribe();
  }, 40_000);
});

// A worker that is gone but not yet expired (default expiry, 15 s): nats-server says nobody listens on its topic.
describe('direct delivery, a worker gone before its expiry', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh({ workers: 2 });
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  it('places calls sent to a killed worker on another at once (no responders), long before it expires', async () => {
    const victim = mesh.workers.find((w) => w.name === 'w1')!;
    victim.kill('SIGKILL');
    await victim.exited;
    const t0 = performance.now();
    const results = [];
    // Unkeyed calls alternate between the two workers the router still thinks live: half go to the dead one first.
    for (let i = 0; i < 10; i++) results.push(await direct(mesh, 'echo', { i }, { timeoutMs: 30_000 }));
    const ms = Math.round(performance.now() - t0);
    console.log(`direct after a kill -9, before the expiry: 10 calls answered in ${ms} ms, by ${[...new Set(results.map((r) => r.worker))].join(', ')}`);
    expect(results.map((r) => r.state)).toEqual(Array(10).fill('SUCCESS'));
    expect(new Set(results.map((r) => r.worker))).toEqual(new Set(['w2']));
    expect(results.some((r) => r.attempt === 2)).toBe(true);
    expect(ms).toBeLessThan(5_000);
    expect(await mesh.liveWorkers()).toContain('w1');
  }, 30_000);
});
