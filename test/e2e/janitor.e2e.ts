import type { InvocationRecord } from '@taskmesh/protocol';
import { waitFor } from '@taskmesh/testing';
import { startMesh, type Mesh, type Response } from './support/mesh-fixture.js';

const get = async (mesh: Mesh, id: string): Promise<{ invocation?: InvocationRecord; failure?: string }> => {
  const body = (await mesh.nc.request('mesh.invocations.get', JSON.stringify({ id }), { timeout: 3000 })).json<{ invocation?: InvocationRecord } & Response>();
  return { invocation: body.invocation, failure: body.data?.failure?.code };
};

// Issue 4: work no worker took before its deadline fails with TIMEOUT and never runs; old final records are purged.
describe('orchestrator janitor (sweep every 200 ms, purge after 6 s)', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    // The purge window outlasts a worker's boot on a loaded machine (measured up to 3.5 s with load 10 on 2 cores):
    // the first test reads the expired record after a late worker started.
    mesh = await startMesh({ workers: 1, orchestrators: 1, env: { MESH_SWEEP_EVERY_MS: '200', MESH_PURGE_AFTER_MS: '6000' } });
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  it('fails waiting work past its deadline with TIMEOUT, and a worker that comes later never starts it', async () => {
    // The only worker leaves: `sleep` was offered once, so it is accepted, but nobody can take it.
    await mesh.workers[0].stop(15_000);
    const events: Response[] = [];
    const sub = mesh.admin.subscribe('mesh.events.invocation.too-late', { callback: (_e, m) => void events.push(m.json<Response>()) });
    await mesh.admin.flush();
    const accepted = (await mesh.nc.request('mesh.submit.sleep', JSON.stringify({ args: { ms: 10 }, id: 'too-late', timeoutMs: 300 }), { timeout: 5000 })).json<Response>();
    expect(accepted.state).toBe('WAITING');
    await waitFor(async () => (await get(mesh, 'too-late')).invocation?.failure?.code === 'TIMEOUT', { timeoutMs: 5000, what: 'too-late expired' });
    expect((await get(mesh, 'too-late')).invocation).toMatchObject({ state: 'FAILURE', attempts: 0 });
    // A worker arrives and pulls it: it is settled without running.
    await mesh.addWorker('late-comer');
    await waitFor(() => events.some((e) => e.state === 'FAILURE'), { timeoutMs: 10_000, what: 'the worker settling too-late' });
    sub.unsubscribe();
    expect(events.filter((e) => e.state === 'RUNNING')).toEqual([]);
    expect((await get(mesh, 'too-late')).invocation?.failure?.code).toBe('TIMEOUT');
  }, 40_000);

  it('purges final records older than MESH_PURGE_AFTER_MS', async () => {
    const r = await mesh.call('echo', 'short-lived');
    expect(r.state).toBe('SUCCESS');
    await waitFor(async () => (await get(mesh, r.id!)).invocation?.state === 'SUCCESS', { timeoutMs: 5000, what: 'recorded' });
    await waitFor(async () => (await get(mesh, r.id!)).failure === 'NOT_FOUND', { timeoutMs: 12_000, what: 'purged' });
  }, 30_000);
});
