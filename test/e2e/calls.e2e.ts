import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { Role } from '@taskmesh/protocol';
import { startMesh, type Mesh, type Response } from './support/mesh-fixture.js';

// Issue 3: another service calls a task by request-reply and gets its result, run by one of 3 worker replicas.
describe('mesh.call (router + 3 workers as processes)', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh({ workers: 3, workerEnv: { MESH_WORKER_CONCURRENCY: '4' } });
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  it('echo returns its args', async () => {
    const r = await mesh.call('echo', { hello: 'mesh', n: [1, 2] });
    expect(r).toMatchObject({ v: 1, type: 'RESPONSE', state: 'SUCCESS', attempt: 1, data: { result: { hello: 'mesh', n: [1, 2] } } });
    expect(r.id).toMatch(/^inv-/);
  });

  it('keeps a caller-chosen id', async () => {
    expect((await mesh.request('echo', { args: 1, id: 'order-981' })).json<Response>().id).toBe('order-981');
  });

  it('500 calls with 32 in flight all succeed, and every worker ran some', async () => {
    const ranBy = new Map<string, number>();
    let next = 0;
    const failures: Response[] = [];
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < 500) {
        const i = next++;
        const r = await mesh.call('echo', { i });
        if (r.state !== 'SUCCESS' || (r.data?.result as { i: number }).i !== i) failures.push(r);
        ranBy.set(r.worker ?? '?', (ranBy.get(r.worker ?? '?') ?? 0) + 1);
      }
    }));
    expect(failures).toEqual([]);
    expect([...ranBy.values()].reduce((a, b) => a + b, 0)).toBe(500);
    expect([...ranBy.keys()].sort()).toEqual(['w1', 'w2', 'w3']);
  }, 60_000);

  it('answers UNKNOWN_TASK at once for a task no worker ever offered', async () => {
    const t0 = performance.now();
    const reply = await mesh.request('no-such-task', { args: {} });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(reply.json<Response>()).toMatchObject({ state: 'FAILURE', data: { failure: { code: 'UNKNOWN_TASK', retryable: false } } });
    expect(reply.headers?.get('Nats-Service-Error-Code')).toBe('404');
  });

  it('answers BAD_REQUEST with the error headers for a body that is not JSON', async () => {
    const reply = await mesh.request('echo', '{"args": nope');
    expect(reply.json<Response>()).toMatchObject({ state: 'FAILURE', data: { failure: { code: 'BAD_REQUEST' } } });
    expect(reply.headers?.get('Nats-Service-Error-Code')).toBe('400');
    expect(reply.headers?.get('Nats-Service-Error')).toContain('JSON');
  });

  it('answers BAD_REQUEST naming an unknown top-level field', async () => {
    const r = (await mesh.request('echo', { args: 1, colour: 'red' })).json<Response>();
    expect(r.data?.failure).toMatchObject({ code: 'BAD_REQUEST' });
    expect(r.data?.failure?.message).toContain('colour');
  });

  it('answers VALIDATION_FAILED for args that do not match the task, and never runs it', async () => {
    const reply = await mesh.request('sleep', { args: { ms: 'x' } });
    const r = reply.json<Response>();
    expect(r.data?.failure).toMatchObject({ code: 'VALIDATION_FAILED', retryable: false });
    expect(JSON.stringify(r.data?.failure?.details)).toContain('args.ms');
    expect(reply.headers?.get('Nats-Service-Error-Code')).toBe('422');
  });

  it('answers TASK_FAILED with the task message', async () => {
    const r = await mesh.call('fail', { message: 'boom' });
    expect(r).toMatchObject({ state: 'FAILURE', data: { failure: { code: 'TASK_FAILED', message: 'boom', retryable: false } } });
  });

  it('streams progress events of an invocation whose id the caller chose', async () => {
    const events: Response[] = [];
    // Watching the event subjects is the admin's view (a caller follows an invocation through the event stream).
    const sub = mesh.admin.subscribe('mesh.events.invocation.progress-1', { callback: (_e, m) => void events.push(m.json<Response>()) });
    await mesh.admin.flush();
    const r = (await mesh.request('sleep', { args: { ms: 300, steps: 3 }, id: 'progress-1' })).json<Response>();
    expect(r.state).toBe('SUCCESS');
    sub.unsubscribe();
    expect(events.map((e) => e.state)).toEqual(['RUNNING', 'EVENT', 'EVENT', 'EVENT', 'SUCCESS']);
  });

  it('serves a NestJS ClientProxy caller unchanged', async () => {
    const client: ClientProxy = ClientProxyFactory.create({ transport: Transport.NATS, options: { servers: [mesh.server.url], ...mesh.server.login(Role.Caller) } });
    try {
      await client.connect();
      expect(await firstValueFrom(client.send('mesh.call.echo', { hello: 'nest' }))).toEqual({ hello: 'nest' });
      await expect(firstValueFrom(client.send('mesh.call.fail', { message: 'nest boom' }))).rejects.toMatchObject({ code: 'TASK_FAILED', message: 'nest boom' });
    } finally {
      await client.close();
    }
  });

  it('lists the live workers with what they offer', async () => {
    const list = (await mesh.nc.request('mesh.workers.list', '{}', { timeout: 2000 })).json<{ v: number; workers: { id: string; tasks: string[]; capacity: number }[] }>();
    expect(list.v).toBe(1);
    expect(list.workers.map((w) => w.id).sort()).toEqual(['w1', 'w2', 'w3']);
    expect(list.workers[0]).toMatchObject({ tasks: ['chain', 'echo', 'exclusive', 'fail', 'fanout', 'ping', 'report', 'sleep', 'sleep-once', 'spin'], capacity: 4 });
  });
});
