import { waitFor } from '@taskmesh/testing';
import { startMesh, type Mesh, type Response } from './support/mesh-fixture.js';

// A worker killed -9 in the middle of tasks loses none of them; JetStream redelivers its unacked work
// after the ack wait and another worker finishes it (attempt 2).
describe('worker loss (ack wait 2 s)', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh({
      workers: 2,
      env: { MESH_NOTIFY_PERIOD_MS: '200', MESH_EXPIRES_AFTER_MS: '1000' },
      workerEnv: { MESH_ACK_WAIT_MS: '2000', MESH_WORKER_CONCURRENCY: '8' },
    });
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  it('every sleep call still succeeds when a worker is killed -9 mid-run', async () => {
    const victim = mesh.workers.find((w) => w.name === 'w1')!;
    const inflight = new Map<string, number>();
    const sub = mesh.admin.subscribe('mesh.notify', {
      callback: (_e, m) => {
        const n = m.json<{ worker: string; inflight: number }>();
        inflight.set(n.worker, n.inflight);
      },
    });
    const calls = Array.from({ length: 20 }, (_, i) => mesh.request('sleep', { args: { ms: 1500 }, id: `loss-${i}`, timeoutMs: 30_000 }, 35_000).then((m) => m.json<Response>()));
    // Kill it only once it is visibly running some of them.
    await waitFor(() => (inflight.get('w1') ?? 0) > 0, { timeoutMs: 5000, what: 'w1 running tasks' });
    victim.kill('SIGKILL');
    const results = await Promise.all(calls);
    sub.unsubscribe();
    expect(results.filter((r) => r.state !== 'SUCCESS')).toEqual([]);
    expect(new Set(results.map((r) => r.id)).size).toBe(20);
    const rerun = results.filter((r) => r.attempt === 2);
    expect(rerun.length).toBeGreaterThan(0);
    // The second attempts ran on the survivor.
    expect(new Set(rerun.map((r) => r.worker))).toEqual(new Set(['w2']));
    expect(await victim.exited).toMatchObject({ signal: 'SIGKILL' });
  }, 60_000);

  it('a running claim held by a killed worker passes to the same invocation\'s next attempt; the others wait their turn', async () => {
    // `exclusive` runs one at a time per resource. The worker running the first one dies holding the claim: the
    // claim must not block the resource forever, and no two may run at once.
    await mesh.addWorker('w3');
    const running = new Map<string, string>();
    const sub = mesh.admin.subscribe('mesh.events.invocation.>', {
      callback: (_e, m) => {
        const r = m.json<Response>();
        if (r.state === 'RUNNING' && r.id?.startsWith('ex-') && r.worker) running.set(r.id, r.worker);
      },
    });
    await mesh.admin.flush();
    const calls = Array.from({ length: 3 }, (_, i) => mesh.request('exclusive', { args: { resource: 'disk', ms: 1000 }, id: `ex-${i}`, timeoutMs: 40_000 }, 45_000).then((m) => m.json<Response>()));
    await waitFor(() => running.size > 0, { timeoutMs: 10_000, what: 'one exclusive running' });
    const [firstId, holder] = [...running][0];
    mesh.workers.find((w) => w.name === holder)!.kill('SIGKILL');
    const results = await Promise.all(calls);
    sub.unsubscribe();
    expect(results.map((r) => r.state)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    const runs = results.map((r) => r.data?.result as { startedAt: string; finishedAt: string; invocationId: string; attempt: number });
    expect(runs.find((r) => r.invocationId === firstId)?.attempt).toBe(2);
    const spans = runs.map((r) => [Date.parse(r.startedAt), Date.parse(r.finishedAt)]).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
  }, 60_000);
});
