import { DEFAULT_EXPIRES_AFTER_MS, type InvocationRecord } from '@taskmesh/protocol';
import { waitFor, type AppProcess } from '@taskmesh/testing';
import { startMesh, type Mesh, type Response } from './support/mesh-fixture.js';

/** A RUNNING event as the test saw it: which worker, which attempt, when it arrived (this process's clock). */
interface Start {
  worker: string;
  attempt: number;
  at: number;
}

const record = async (mesh: Mesh, id: string): Promise<InvocationRecord | undefined> =>
  (await mesh.nc.request('mesh.invocations.get', JSON.stringify({ id }), { timeout: 3000 })).json<{ invocation?: InvocationRecord }>().invocation;

const submit = async (mesh: Mesh, body: Record<string, unknown>): Promise<Response> =>
  (await mesh.nc.request('mesh.submit.sleep', JSON.stringify(body), { timeout: 10_000 })).json<Response>();

// A worker that dies (kill -9) or freezes (SIGSTOP) in the middle of its tasks: with the product's defaults (no
// MESH_ACK_WAIT_MS: the ack wait follows MESH_EXPIRES_AFTER_MS), its work starts again on another worker within
// about one expiry period, and ends SUCCESS even when its deadline passed meanwhile (the deadline bounds only the
// first start). A frozen worker's late result is rejected: the record keeps the other attempt's outcome.
describe('recovery from worker loss within one expiry period (product defaults)', () => {
  const expiresAfterMs = DEFAULT_EXPIRES_AFTER_MS;
  let mesh: Mesh;
  const starts = new Map<string, Start[]>();

  beforeAll(async () => {
    mesh = await startMesh({ workers: 2, orchestrators: 1, workerEnv: { MESH_WORKER_CONCURRENCY: '4' } });
    mesh.admin.subscribe('mesh.events.invocation.>', {
      callback: (_e, m) => {
        const r = m.json<Response>();
        if (r.state !== 'RUNNING' || !r.id || !r.worker) return;
        starts.set(r.id, [...(starts.get(r.id) ?? []), { worker: r.worker, attempt: r.attempt ?? 1, at: performance.now() }]);
      },
    });
    await mesh.admin.flush();
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  /** Calls `mesh.call.sleep` without waiting; the answer comes later. */
  const call = (body: Record<string, unknown>): Promise<Response> =>
    mesh.nc.request('mesh.call.sleep', JSON.stringify(body), { timeout: 60_000 }).then((m) => m.json<Response>());

  /** Submits (or calls) `n` sleeps, waits until `victim` runs some, and returns the ids it holds. */
  const loadAndPick = async (prefix: string, n: number, victim: AppProcess, body: Record<string, unknown>, calls?: Promise<Response>[]): Promise<string[]> => {
    for (let i = 0; i < n; i++) {
      if (calls) calls.push(call({ ...body, id: `${prefix}-${i}` }));
      else expect((await submit(mesh, { ...body, id: `${prefix}-${i}` })).state).toBe('WAITING');
    }
    const held = (): string[] => [...starts].filter(([id, s]) => id.startsWith(`${prefix}-`) && s[0]?.worker === victim.name).map(([id]) => id);
    // Every one has reported RUNNING before the victim goes: a worker killed within the millisecond between starting
    // a task and its RUNNING event leaving the process leaves no trace of the start (docs/PROTOCOL.md section 4.10).
    const allStarted = (): boolean => Array.from({ length: n }, (_, i) => `${prefix}-${i}`).every((id) => starts.has(id));
    await waitFor(() => allStarted() && held().length >= 2, { timeoutMs: 10_000, what: `${victim.name} running ${prefix} work` });
    return held();
  };

  /** Kill (or freeze) time -> the next RUNNING of each invocation the victim held, on another worker. */
  const restarts = async (ids: string[], victim: string, since: number): Promise<number[]> => {
    const next = (id: string): Start | undefined => starts.get(id)?.find((s) => s.worker !== victim && s.at > since);
    await waitFor(() => ids.every((id) => next(id)), { timeoutMs: 3 * expiresAfterMs, what: `the work of ${victim} restarting elsewhere` });
    return ids.map((id) => next(id)!.at - since);
  };

  it('retries after a retryable failure run past the deadline: the invocation started, so it is carried to its outcome', async () => {
    // `fail` retries after 100-200 ms, then 200-400 ms: its third attempt starts after the 250 ms deadline. A call
    // first makes the task one its workers are pulling for (a cold task may wait its turn longer than the deadline).
    expect((await mesh.request('fail', { args: { untilAttempt: 1 } }, 15_000)).json<Response>().state).toBe('SUCCESS');
    const r = (await mesh.request('fail', { args: { retryable: true, untilAttempt: 3 }, id: 'retry-late', timeoutMs: 250 }, 15_000)).json<Response>();
    expect(r).toMatchObject({ state: 'SUCCESS', attempt: 3, data: { result: { attempt: 3 } } });
    await waitFor(async () => (await record(mesh, 'retry-late'))?.state === 'SUCCESS', { timeoutMs: 5_000, what: 'retry-late recorded' });
    const third = starts.get('retry-late')?.find((s) => s.attempt === 3);
    expect(third).toBeDefined();
  }, 30_000);

  it('kill -9: the work restarts elsewhere within 2 x MESH_EXPIRES_AFTER_MS; its calls get SUCCESS although their timeoutMs passed', async () => {
    const victim = mesh.workers.find((w) => w.name === 'w1')!;
    // timeoutMs 8 s: recovery (about 15 s) ends after the deadline. The deadline bounds the first start only, and
    // a call whose invocation started waits for its outcome past its timeoutMs.
    const calls: Promise<Response>[] = [];
    const ids = await loadAndPick('kill', 6, victim, { args: { ms: 4000 }, timeoutMs: 8_000 }, calls);
    const killedAt = performance.now();
    victim.kill('SIGKILL');
    const took = await restarts(ids, 'w1', killedAt);
    process.stdout.write(`kill -9 -> next RUNNING elsewhere: ${took.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s (limit ${2 * expiresAfterMs / 1000} s)\n`);
    expect(Math.max(...took)).toBeLessThanOrEqual(2 * expiresAfterMs);
    const answers = await Promise.all(calls);
    expect(answers.filter((r) => r.state !== 'SUCCESS')).toEqual([]);
    expect(answers.filter((r) => ids.includes(r.id!)).map((r) => r.attempt)).toEqual(ids.map(() => 2));
    const all = Array.from({ length: 6 }, (_, i) => `kill-${i}`);
    await waitFor(async () => (await Promise.all(all.map((id) => record(mesh, id)))).every((r) => r?.state === 'SUCCESS' || r?.state === 'FAILURE'), { timeoutMs: 20_000, what: 'every kill-* final' });
    const records = await Promise.all(all.map((id) => record(mesh, id)));
    expect(records.filter((r) => r?.state !== 'SUCCESS')).toEqual([]);
    for (const id of ids) expect(await record(mesh, id)).toMatchObject({ state: 'SUCCESS', attempts: 2 });
    expect(await victim.exited).toMatchObject({ signal: 'SIGKILL' });
  }, 90_000);

  it('SIGSTOP: the work restarts elsewhere within 2 x MESH_EXPIRES_AFTER_MS; after SIGCONT its late result is rejected', async () => {
    const frozen = await mesh.addWorker('w3', { MESH_WORKER_CONCURRENCY: '4' });
    await waitFor(async () => (await mesh.liveWorkers()).includes('w3'), { timeoutMs: 10_000, what: 'w3 live' });
    const ids = await loadAndPick('stop', 6, frozen, { args: { ms: 4000 } });
    const stoppedAt = performance.now();
    frozen.kill('SIGSTOP');
    let took: number[];
    try {
      took = await restarts(ids, 'w3', stoppedAt);
      await waitFor(async () => (await Promise.all(ids.map((id) => record(mesh, id)))).every((r) => r?.state === 'SUCCESS'), { timeoutMs: 20_000, what: 'the other attempts succeeding' });
    } finally {
      frozen.kill('SIGCONT');
    }
    process.stdout.write(`SIGSTOP -> next RUNNING elsewhere: ${took.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s (limit ${2 * expiresAfterMs / 1000} s)\n`);
    expect(Math.max(...took)).toBeLessThanOrEqual(2 * expiresAfterMs);
    // Woken up, w3 finishes its old attempts and reports them: each is refused and counted; the outcome stays.
    await waitFor(async () => (await Promise.all(ids.map((id) => record(mesh, id)))).every((r) => (r?.rejected ?? 0) >= 1), { timeoutMs: 20_000, what: 'the late results rejected' });
    for (const id of ids) {
      const r = await record(mesh, id);
      expect(r).toMatchObject({ state: 'SUCCESS', attempts: 2 });
      expect(r?.worker).not.toBe('w3');
      expect((r?.result as { attempt: number }).attempt).toBe(2);
    }
  }, 90_000);
});
