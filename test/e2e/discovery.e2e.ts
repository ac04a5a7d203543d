// NATS micro discovery (ADR-32) on every app: `$SRV.PING|INFO|STATS` answered in the io.nats.micro.v1 schema that
// `nats micro ls|info|stats` reads, with each app's endpoints and per-endpoint counters.
import { jest } from '@jest/globals';
import type { NatsConnection } from '@nats-io/transport-node';
import { waitFor } from '@taskmesh/testing';
import { startMesh, type Mesh } from './support/mesh-fixture.js';

jest.setTimeout(60_000);

interface Endpoint { name: string; subject: string; queue_group: string; metadata?: Record<string, string>; num_requests?: number; num_errors?: number; last_error?: string; processing_time?: number; average_processing_time?: number }
interface Answer { type: string; name: string; id: string; version: string; metadata: Record<string, string>; description?: string; started?: string; endpoints?: Endpoint[] }

/** Every answer to a discovery request within `maxWaitMs` (at most `count`). */
async function ask(nc: NatsConnection, subject: string, count: number, maxWaitMs = 3_000): Promise<Answer[]> {
  const answers: Answer[] = [];
  const replies = await nc.requestMany(subject, '', { maxWait: maxWaitMs, maxMessages: count, strategy: 'count' });
  for await (const m of replies) answers.push(m.json<Answer>());
  return answers;
}

const APPS = ['taskmesh-orchestrator', 'taskmesh-router', 'taskmesh-scheduler', 'taskmesh-worker'];

describe('$SRV discovery on every app', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh({ workers: 1, orchestrators: 1, schedulers: 1 });
  });
  afterAll(async () => {
    await mesh?.stop();
  });

  it('PING: every app answers $SRV.PING, with a SemVer version and a unique id', async () => {
    const pings = await ask(mesh.nc, '$SRV.PING', 4);
    expect(pings.map((p) => p.name).sort()).toEqual(APPS);
    for (const p of pings) {
      expect(p.type).toBe('io.nats.micro.v1.ping_response');
      expect(p.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(p.id).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(typeof p.metadata).toBe('object');
    }
    expect(new Set(pings.map((p) => p.id)).size).toBe(4);
  });

  it('INFO: the router lists its endpoints with their subjects and queue group; name and id narrow the request', async () => {
    const [info, ...more] = await ask(mesh.nc, '$SRV.INFO.taskmesh-router', 2, 1_000);
    expect(more).toEqual([]);
    expect(info!.type).toBe('io.nats.micro.v1.info_response');
    expect(info!.description).toMatch(/router/);
    const served = ['mesh.call.*', 'mesh.submit.*', 'mesh.workers.list'];
    expect(info!.endpoints!.map((e) => e.subject)).toEqual(expect.arrayContaining(served));
    for (const e of info!.endpoints!.filter((x) => served.includes(x.subject))) expect(e).toMatchObject({ queue_group: 'mesh-router', metadata: {} });
    // NOTIFY reaches every router replica: no queue group.
    expect(info!.endpoints!.find((e) => e.subject === 'mesh.notify')).toMatchObject({ queue_group: '' });

    const byId = await ask(mesh.nc, `$SRV.INFO.taskmesh-router.${info!.id}`, 2, 1_000);
    expect(byId.map((a) => a.id)).toEqual([info!.id]);
    await expect(ask(mesh.nc, '$SRV.INFO.taskmesh-router.nobody', 1, 500)).rejects.toThrow(/no responders/);

    const [orchestrator] = await ask(mesh.nc, '$SRV.INFO.taskmesh-orchestrator', 1);
    expect(orchestrator!.endpoints!.map((e) => e.subject)).toEqual(expect.arrayContaining(['mesh.invocations.*', 'mesh.deadletters.list']));
    const [scheduler] = await ask(mesh.nc, '$SRV.INFO.taskmesh-scheduler', 1);
    expect(scheduler!.endpoints!.map((e) => e.subject)).toEqual(expect.arrayContaining(['mesh.dispatches.*']));
    const [worker] = await ask(mesh.nc, '$SRV.INFO.taskmesh-worker', 1);
    expect(worker!.endpoints!.map((e) => e.name)).toEqual(expect.arrayContaining(['echo', 'sleep', 'fail']));
    expect(worker!.metadata).toMatchObject({ worker: 'w1', topic: 'mesh.worker.w1' });
  });

  it('STATS: calls, errors and processing time are counted per endpoint, on the router and on the worker', async () => {
    expect((await mesh.call('fail', { message: 'no luck' })).state).toBe('FAILURE');
    expect((await mesh.call('echo', { n: 1 })).state).toBe('SUCCESS');
    expect((await mesh.call('echo', { n: 2 })).state).toBe('SUCCESS');
    expect((await mesh.request('echo', { args: 1, bogus: true })).json<{ state: string }>().state).toBe('FAILURE');

    const [router] = await ask(mesh.nc, '$SRV.STATS.taskmesh-router', 1);
    expect(router!.type).toBe('io.nats.micro.v1.stats_response');
    expect(Number.isNaN(Date.parse(router!.started!))).toBe(false);
    const call = router!.endpoints!.find((e) => e.subject === 'mesh.call.*')!;
    expect(call.num_requests).toBeGreaterThanOrEqual(4);
    // An error is a reply with Nats-Service-Error: the task's failure and the bad request.
    expect(call.num_errors).toBeGreaterThanOrEqual(2);
    expect(call.last_error).toMatch(/400: .*bogus/);
    expect(call.processing_time).toBeGreaterThan(0);
    expect(call.average_processing_time).toBe(Math.trunc(call.processing_time! / call.num_requests!));

    // The worker records a run when its handler settles, which may trail the reply by a moment.
    const echo = await waitFor(async () => {
      const [w] = await ask(mesh.nc, '$SRV.STATS.taskmesh-worker', 1);
      const stats = w!.endpoints!;
      const e = stats.find((x) => x.name === 'echo')!;
      const f = stats.find((x) => x.name === 'fail')!;
      return e.num_requests! >= 2 && f.num_errors! >= 1 ? { e, f } : undefined;
    }, { timeoutMs: 5_000, what: 'worker stats counting 2 echo runs and 1 failed run' });
    expect(echo.e).toMatchObject({ subject: 'mesh.work.echo', num_errors: 0, last_error: '' });
    expect(echo.f.last_error).toMatch(/TASK_FAILED: no luck/);
  });
});
