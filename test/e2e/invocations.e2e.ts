import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { InvocationRecord } from '@taskmesh/protocol';
import { waitFor } from '@taskmesh/testing';
import { startMesh, type Mesh, type Response } from './support/mesh-fixture.js';

const get = async (nc: NatsConnection, id: string): Promise<InvocationRecord | undefined> => {
  const body = (await nc.request('mesh.invocations.get', JSON.stringify({ id }), { timeout: 3000 })).json<{ invocation?: InvocationRecord }>();
  return body.invocation;
};
const submit = async (mesh: Mesh, task: string, body: Record<string, unknown>): Promise<Response> =>
  (await mesh.nc.request(`mesh.submit.${task}`, JSON.stringify(body), { timeout: 10_000 })).json<Response>();

const DEDUP_WINDOW_MS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// Issue 4 (first part): submit, records, get / list / wait, lasting dedup by id, and no loss when the
// orchestrator dies.
describe('invocations (router + orchestrator + workers as processes)', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    // JetStream's Nats-Msg-Id window shortened to 1 s (from 2 min), so "submitted again long after the window" is a
    // couple of seconds here rather than 3 minutes.
    mesh = await startMesh({ workers: 3, orchestrators: 1, env: { MESH_DEDUP_WINDOW_MS: String(DEDUP_WINDOW_MS) }, workerEnv: { MESH_WORKER_CONCURRENCY: '16' } });
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  it('submit answers WAITING once durable; get shows the record; wait returns the outcome', async () => {
    expect(await submit(mesh, 'sleep', { args: { ms: 300 }, id: 'sub-1' })).toEqual({ v: 1, type: 'RESPONSE', id: 'sub-1', state: 'WAITING' });
    expect(await get(mesh.nc, 'sub-1')).toMatchObject({ id: 'sub-1', task: 'sleep', children: [] });
    const done = (await mesh.nc.request('mesh.invocations.wait', JSON.stringify({ id: 'sub-1', timeoutMs: 10_000 }), { timeout: 12_000 })).json<Response>();
    expect(done).toMatchObject({ id: 'sub-1', state: 'SUCCESS', attempt: 1 });
    await waitFor(async () => (await get(mesh.nc, 'sub-1'))?.state === 'SUCCESS', { timeoutMs: 5000, what: 'record SUCCESS' });
    expect(await get(mesh.nc, 'sub-1')).toMatchObject({ state: 'SUCCESS', attempts: 1, result: { attempt: 1 } });
  }, 30_000);

  it('wait returns the current state when its timeout passes first', async () => {
    await submit(mesh, 'sleep', { args: { ms: 3000 }, id: 'slow-1' });
    const r = (await mesh.nc.request('mesh.invocations.wait', JSON.stringify({ id: 'slow-1', timeoutMs: 300 }), { timeout: 5000 })).json<Response>();
    expect(['WAITING', 'RUNNING']).toContain(r.state);
  }, 20_000);

  it('records calls too, and lists newest first with filters', async () => {
    const r = await mesh.call('echo', { listed: true });
    await waitFor(async () => (await get(mesh.nc, r.id!))?.state === 'SUCCESS', { timeoutMs: 5000, what: 'call recorded' });
    const list = (await mesh.nc.request('mesh.invocations.list', JSON.stringify({ task: 'echo', state: 'SUCCESS', limit: 5 }), { timeout: 5000 })).json<{ invocations: InvocationRecord[] }>();
    expect(list.invocations[0].id).toBe(r.id);
    expect(list.invocations.every((i) => i.task === 'echo' && i.state === 'SUCCESS')).toBe(true);
  }, 20_000);

  it('lists by key and by creation time, both ends inclusive, reading no further back than the range', async () => {
    const list = async (filters: Record<string, unknown>): Promise<string[]> =>
      (await mesh.nc.request('mesh.invocations.list', JSON.stringify({ limit: 100, ...filters }), { timeout: 5000 })).json<{ invocations: InvocationRecord[] }>().invocations.map((i) => i.id);
    const ids = ['kt-1', 'kt-2', 'kt-3', 'kt-4'];
    const created: string[] = [];
    for (const [i, id] of ids.entries()) {
      const r = (await mesh.request('echo', { args: { i }, id, key: i % 2 === 0 ? 'even-k' : 'odd-k' })).json<Response>();
      expect(r.state).toBe('SUCCESS');
      created.push((await waitFor(() => get(mesh.nc, id), { timeoutMs: 5000, what: `${id} recorded` })).createdAt);
      await new Promise((resolve) => setTimeout(resolve, 20)); // distinct creation times
    }
    expect(await list({ key: 'even-k' })).toEqual(['kt-3', 'kt-1']);
    expect(await list({ key: 'odd-k', task: 'echo', state: 'SUCCESS' })).toEqual(['kt-4', 'kt-2']);
    expect(await list({ from: created[1], to: created[2] })).toEqual(['kt-3', 'kt-2']);
    expect(await list({ key: 'even-k', from: created[1] })).toEqual(['kt-3']);
    expect(await list({ from: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
    for (const body of [{ key: '' }, { from: 'yesterday' }, { from: created[2], to: created[1] }, { key: 7 }]) {
      const bad = (await mesh.nc.request('mesh.invocations.list', JSON.stringify(body), { timeout: 3000 })).json<Response>();
      expect([body, bad.data?.failure?.code]).toEqual([body, 'BAD_REQUEST']);
    }
  }, 30_000);

  it('records a call with a generated id from its worker\'s events, with the fields its router gave it; an unsound first record is refused', async () => {
    const before = Date.now();
    const r = (await mesh.nc.request('mesh.call.echo', JSON.stringify({ args: { seeded: true }, key: 'acct-7', timeoutMs: 20_000 }), { timeout: 10_000 })).json<Response>();
    expect(r).toMatchObject({ state: 'SUCCESS', attempt: 1 });
    const record = await waitFor(async () => {
      const found = await get(mesh.nc, r.id!);
      return found?.state === 'SUCCESS' ? found : undefined;
    }, { timeoutMs: 5000, what: 'call recorded' });
    const createdAt = Date.parse(record.createdAt);
    expect(createdAt).toBeGreaterThanOrEqual(before - 1000);
    expect(record).toMatchObject({ id: r.id, task: 'echo', key: 'acct-7', deadline: createdAt + 20_000, attempts: 1, worker: r.worker, result: { seeded: true }, children: [] });
    expect(record.argsDigest).toMatch(/\S/);
    // A forged event (sent as the admin: a caller may not publish events) whose first record names another invocation creates nothing.
    const forged = JSON.stringify({ v: 1, id: 'someone-else', task: 'echo', state: 'WAITING', attempts: 0, createdAt: new Date().toISOString(), children: [] });
    const hdrs = (await import('@nats-io/transport-node')).headers();
    hdrs.set('Mesh-Record', forged);
    mesh.admin.publish('mesh.events.invocation.forged-1', JSON.stringify({ v: 1, type: 'RESPONSE', id: 'forged-1', state: 'RUNNING', attempt: 1 }), { headers: hdrs });
    await mesh.orchestrators[0]!.waitForLine(/invalid first record on an event ignored.*forged-1/, 5000);
    expect(await get(mesh.nc, 'forged-1')).toBeUndefined();
  }, 20_000);

  it('retries a retryable failure with backoff until it succeeds; a non-retryable failure is final at once', async () => {
    // `fail` declares { maxAttempts: 3, backoffMs: 200 }: delays are in [100, 200] ms, then [200, 400] ms.
    const started: number[] = [];
    const sub = mesh.admin.subscribe('mesh.events.invocation.retry-1', {
      callback: (_e, m) => {
        if (m.json<Response>().state === 'RUNNING') started.push(performance.now());
      },
    });
    await mesh.admin.flush();
    const r = (await mesh.request('fail', { args: { message: 'flaky', retryable: true, untilAttempt: 3 }, id: 'retry-1' })).json<Response>();
    sub.unsubscribe();
    expect(r).toMatchObject({ state: 'SUCCESS', attempt: 3, data: { result: { attempt: 3 } } });
    expect(started).toHaveLength(3);
    const gaps = [started[1] - started[0], started[2] - started[1]];
    // Lower bounds are the policy's; the upper ones allow for the redelivery itself on a loaded machine.
    expect(gaps[0]).toBeGreaterThanOrEqual(95);
    expect(gaps[0]).toBeLessThan(200 + 400);
    expect(gaps[1]).toBeGreaterThanOrEqual(195);
    expect(gaps[1]).toBeLessThan(400 + 400);
    await waitFor(async () => (await get(mesh.nc, 'retry-1'))?.state === 'SUCCESS', { timeoutMs: 5000, what: 'retry-1 recorded' });
    expect((await get(mesh.nc, 'retry-1'))?.attempts).toBe(3);

    const always = await mesh.call('fail', { message: 'down', retryable: true });
    expect(always).toMatchObject({ state: 'FAILURE', attempt: 3, data: { failure: { code: 'TASK_FAILED', message: 'down', retryable: true } } });
    const once = await mesh.call('fail', { message: 'bad input' });
    expect(once).toMatchObject({ state: 'FAILURE', attempt: 1, data: { failure: { retryable: false } } });
  }, 30_000);

  it('cancels a running sleep within one step: its task sees the abort, the caller and the record get CANCELLED', async () => {
    const call = mesh.request('sleep', { args: { ms: 10_000, steps: 20 }, id: 'cancel-run' }, 15_000).then((m) => m.json<Response>());
    await waitFor(async () => (await get(mesh.nc, 'cancel-run'))?.state === 'RUNNING', { timeoutMs: 5000, what: 'cancel-run running' });
    const t0 = performance.now();
    const answer = (await mesh.nc.request('mesh.invocations.cancel', JSON.stringify({ id: 'cancel-run' }), { timeout: 5000 })).json<Response>();
    expect(answer.state).toBe('RUNNING');
    const outcome = await call;
    // One step of this sleep is 500 ms.
    expect(performance.now() - t0).toBeLessThan(500 + 400);
    expect(outcome).toMatchObject({ state: 'FAILURE', data: { failure: { code: 'CANCELLED' } } });
    await waitFor(async () => (await get(mesh.nc, 'cancel-run'))?.failure?.code === 'CANCELLED', { timeoutMs: 5000, what: 'record CANCELLED' });
  }, 30_000);

  it('cancels as running an invocation whose start is reported but not recorded yet, and it ends CANCELLED after its start', async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const sub = mesh.admin.subscribe('mesh.events.invocation.cancel-early', {
      callback: (_e, m) => {
        if (m.json<Response>().state === 'RUNNING') started();
      },
    });
    await mesh.admin.flush();
    expect(await submit(mesh, 'sleep', { args: { ms: 5000, steps: 10 }, id: 'cancel-early' })).toMatchObject({ state: 'WAITING' });
    await running;
    // Once the events stream has the start (it stores what the subscription above sees a moment later), and at
    // once: the recorder holds a start alone for a moment, so the record may still say WAITING.
    const jsm = await jetstreamManager(mesh.admin);
    await waitFor(async () => (await jsm.streams.getMessage('MESH_EVENTS', { last_by_subj: 'mesh.events.invocation.cancel-early' }).catch(() => null)) !== null, { timeoutMs: 2000, what: 'the start stored' });
    const answer = (await mesh.nc.request('mesh.invocations.cancel', JSON.stringify({ id: 'cancel-early' }), { timeout: 5000 })).json<Response>();
    sub.unsubscribe();
    // Running (its record may still say WAITING), or already stopped by the cancellation: its outcome, after its start.
    if (answer.state === 'RUNNING') expect(answer).toMatchObject({ id: 'cancel-early' });
    else expect(answer).toMatchObject({ id: 'cancel-early', state: 'FAILURE', attempt: 1, data: { failure: { code: 'CANCELLED' } } });
    const record = await waitFor(async () => {
      const r = await get(mesh.nc, 'cancel-early');
      return r?.state === 'FAILURE' ? r : undefined;
    }, { timeoutMs: 5000, what: 'cancel-early final' });
    expect(record).toMatchObject({ attempts: 1, failure: { code: 'CANCELLED' } });
    expect(record.rejected).toBeUndefined();
  }, 20_000);

  it('cancels a waiting invocation at once, and it never starts', async () => {
    const events: Response[] = [];
    const sub = mesh.admin.subscribe('mesh.events.invocation.cancel-wait', { callback: (_e, m) => void events.push(m.json<Response>()) });
    await mesh.admin.flush();
    // More 2.5 s sleeps than the 3 workers x 16 slots can run, so the next submit waits in the queue behind them.
    const fill = Array.from({ length: 60 }, (_, i) => `fill-${i}`);
    await Promise.all(fill.map((id) => submit(mesh, 'sleep', { args: { ms: 2500 }, id })));
    await waitFor(async () => (await Promise.all(fill.map((id) => get(mesh.nc, id)))).some((r) => r?.state === 'RUNNING'), { timeoutMs: 10_000, what: 'workers busy' });
    expect(await submit(mesh, 'sleep', { args: { ms: 100 }, id: 'cancel-wait' })).toMatchObject({ state: 'WAITING' });
    const answer = (await mesh.nc.request('mesh.invocations.cancel', JSON.stringify({ id: 'cancel-wait' }), { timeout: 5000 })).json<Response>();
    expect(answer).toMatchObject({ id: 'cancel-wait', state: 'FAILURE', data: { failure: { code: 'CANCELLED' } } });
    await waitFor(async () => (await Promise.all(fill.map((id) => get(mesh.nc, id)))).every((r) => r?.state === 'SUCCESS'), { timeoutMs: 20_000, what: 'fill done' });
    // A worker has had the chance to pull it by now: it was settled without running.
    await waitFor(() => events.some((e) => e.state === 'FAILURE'), { timeoutMs: 5000, what: 'the worker settling cancel-wait' });
    sub.unsubscribe();
    expect(events.filter((e) => e.state === 'RUNNING')).toEqual([]);
    expect(await get(mesh.nc, 'cancel-wait')).toMatchObject({ state: 'FAILURE', attempts: 0, failure: { code: 'CANCELLED' } });
  }, 40_000);

  it('answers NOT_FOUND and BAD_REQUEST as RESPONSEs', async () => {
    const missing = await mesh.nc.request('mesh.invocations.get', '{"id":"never"}', { timeout: 3000 });
    expect(missing.json<Response>().data?.failure?.code).toBe('NOT_FOUND');
    expect(missing.headers?.get('Nats-Service-Error-Code')).toBe('404');
    const bad = (await mesh.nc.request('mesh.invocations.list', '{"limit":5000}', { timeout: 3000 })).json<Response>();
    expect(bad.data?.failure?.code).toBe('BAD_REQUEST');
  });

  it('runs the same id once when it is submitted twice at the same time, and again after a nats-server restart', async () => {
    const runs: Response[] = [];
    const sub = mesh.admin.subscribe('mesh.events.invocation.once-1', { callback: (_e, m) => void runs.push(m.json<Response>()) });
    await mesh.admin.flush();
    const [a, b] = await Promise.all([submit(mesh, 'sleep', { args: { ms: 200 }, id: 'once-1' }), submit(mesh, 'sleep', { args: { ms: 200 }, id: 'once-1' })]);
    expect([a.id, b.id]).toEqual(['once-1', 'once-1']);
    await waitFor(async () => (await get(mesh.nc, 'once-1'))?.state === 'SUCCESS', { timeoutMs: 10_000, what: 'once-1 done' });
    // After a restart JetStream's Nats-Msg-Id window only remembers messages still in the (work-queue) stream;
    // the record is what remembers the id.
    await mesh.server.restart();
    await waitFor(async () => (await mesh.liveWorkers().catch(() => [])).length === 3, { timeoutMs: 20_000, what: 'mesh back after restart' });
    const again = await waitFor(async () => submit(mesh, 'sleep', { args: { ms: 200 }, id: 'once-1' }).catch(() => undefined), { timeoutMs: 10_000, what: 'submit after restart' });
    expect(again).toMatchObject({ id: 'once-1', state: 'SUCCESS' });
    const call = await mesh.call('sleep', { ms: 200 }).then(() => mesh.request('sleep', { args: { ms: 200 }, id: 'once-1' }));
    expect(call.json<Response>()).toMatchObject({ id: 'once-1', state: 'SUCCESS' });
    sub.unsubscribe();
    expect(runs.filter((r) => r.state === 'RUNNING')).toHaveLength(1);
    expect((await get(mesh.nc, 'once-1'))?.attempts).toBe(1);
  }, 60_000);

  it('runs the same id once when it is submitted again after JetStream\'s dedup window has passed', async () => {
    const jsm = await jetstreamManager(mesh.admin);
    expect((await jsm.streams.info('MESH_WORK')).config.duplicate_window).toBe(DEDUP_WINDOW_MS * 1_000_000);
    const runs: Response[] = [];
    const sub = mesh.admin.subscribe('mesh.events.invocation.late-1', { callback: (_e, m) => void runs.push(m.json<Response>()) });
    await mesh.admin.flush();
    expect(await submit(mesh, 'sleep', { args: { ms: 100 }, id: 'late-1' })).toMatchObject({ state: 'WAITING' });
    await waitFor(async () => (await get(mesh.nc, 'late-1'))?.state === 'SUCCESS', { timeoutMs: 10_000, what: 'late-1 done' });
    // The window is what this test is about: let it pass (three times over) so the server has forgotten the id.
    await sleep(3 * DEDUP_WINDOW_MS);
    const queued = (await jsm.streams.info('MESH_WORK')).state.last_seq;
    expect(await submit(mesh, 'sleep', { args: { ms: 100 }, id: 'late-1' })).toMatchObject({ id: 'late-1', state: 'SUCCESS' });
    expect((await mesh.request('sleep', { args: { ms: 100 }, id: 'late-1' })).json<Response>()).toMatchObject({ id: 'late-1', state: 'SUCCESS' });
    // Nothing was queued again, so nothing can run again.
    expect((await jsm.streams.info('MESH_WORK')).state.last_seq).toBe(queued);
    sub.unsubscribe();
    expect(runs.filter((r) => r.state === 'RUNNING')).toHaveLength(1);
    expect((await get(mesh.nc, 'late-1'))?.attempts).toBe(1);
  }, 30_000);

  it('loses no record when the orchestrator is killed -9 among 300 submits and restarted', async () => {
    const ids = Array.from({ length: 300 }, (_, i) => `bulk-${i}`);
    let sent = 0;
    const submitting = Promise.all(Array.from({ length: 16 }, async () => {
      while (sent < ids.length) {
        const id = ids[sent++];
        expect((await submit(mesh, 'sleep', { args: { ms: 50 }, id })).state).toBe('WAITING');
      }
    }));
    await waitFor(() => sent >= 100, { timeoutMs: 20_000, what: '100 submitted' });
    const [orchestrator] = mesh.orchestrators;
    orchestrator.kill('SIGKILL');
    await orchestrator.exited;
    await submitting;
    await mesh.addOrchestrator();
    await waitFor(async () => {
      const records = await Promise.all(ids.map((id) => get(mesh.nc, id)));
      return records.every((r) => r?.state === 'SUCCESS');
    }, { timeoutMs: 60_000, intervalMs: 500, what: 'all 300 records SUCCESS' });
  }, 120_000);

  it('loses no record with two orchestrator replicas when one is killed -9 and not restarted', async () => {
    // The replica started after the previous test's kill is alive; add a second one, then kill the first.
    const victim = mesh.orchestrators.at(-1)!;
    const spare = await mesh.addOrchestrator();
    expect(spare).not.toBe(victim);
    let victimExit: unknown;
    void victim.exited.then((e) => (victimExit = e));
    expect(victimExit).toBeUndefined();
    const ids = Array.from({ length: 300 }, (_, i) => `pair-${i}`);
    let sent = 0;
    const submitting = Promise.all(Array.from({ length: 16 }, async () => {
      while (sent < ids.length) {
        const id = ids[sent++];
        expect((await submit(mesh, 'sleep', { args: { ms: 50 }, id })).state).toBe('WAITING');
      }
    }));
    await waitFor(() => sent >= 100, { timeoutMs: 20_000, what: '100 submitted' });
    victim.kill('SIGKILL');
    await submitting;
    await waitFor(async () => {
      const records = await Promise.all(ids.map((id) => get(mesh.nc, id)));
      return records.every((r) => r?.state === 'SUCCESS');
    }, { timeoutMs: 60_000, intervalMs: 500, what: 'all 300 records SUCCESS' });
    expect(await victim.exited).toMatchObject({ signal: 'SIGKILL' });
  }, 120_000);
});
