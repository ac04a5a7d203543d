import { waitFor } from '#testing';
import { startMesh, type Mesh, type Response } from './support/mesh-fixture.js';

// G1/G3: a worker killed -9 in the middle of tasks loses none of them; JetStream redelivers its unacked work
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
    const sub = mesh.nc.subscribe('mesh.notify', {
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
});
