import 'reflect-metadata';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  CancelledError, CONNECT_RETRY_DELAY_MS, CycleDetectedError, defineTask, InternalError, InvalidMessageError, MeshClient, MeshConnectError, MeshTimeoutError, NotFoundError, UnknownTaskError,
  ResponseMessage, type DirectPath,
} from '@taskmesh/client';
import { MeshClientModule } from '@taskmesh/client/nest';
import { Role } from '@taskmesh/protocol';
import { freePort, spawnApp, startNatsServer, waitFor, type NatsServer } from '@taskmesh/testing';
import { startMesh, type Mesh } from './support/mesh-fixture.js';

/** What the demo `sleep` returns (apps/worker/src/demo/demo.tasks.ts). */
interface RunInfo { worker: string; attempt: number; invocationId: string }
const sleepTask = defineTask<{ ms: number; steps?: number }, RunInfo>('sleep');
const echoTask = defineTask<{ text: string }, { text: string }>('echo');

// Never called: it only has to compile (typecheck runs over test/), and must not when the types are wrong.
export function typedCallsCompile(mesh: MeshClient): void {
  void mesh.call(sleepTask, { ms: 1 }).then((r: RunInfo) => r.worker);
  // @ts-expect-error a typed task refuses arguments of the wrong type
  void mesh.call(sleepTask, { ms: 'long' });
}

const collect = async (events: AsyncIterable<ResponseMessage>): Promise<ResponseMessage[]> => {
  const seen: ResponseMessage[] = [];
  for await (const e of events) seen.push(e);
  return seen;
};

// Issue 12: the SDK a Node program or a Nest app uses to reach the mesh, against the real apps.
describe(MeshClient.name, () => {
  let mesh: Mesh;
  let client: MeshClient;
  /** The caller's login in the SDK's option names. */
  const caller = (): { user: string; password: string } => {
    const { user, pass } = mesh.server.login(Role.Caller);
    return { user, password: pass };
  };

  beforeAll(async () => {
    // `fake`: the prefix of a stand-in router below, which the caller calls as it would the mesh.
    mesh = await startMesh({ workers: 2, orchestrators: 1, schedulers: 1, prefixes: ['mesh', 'fake'] });
    client = await MeshClient.connect({ servers: mesh.server.url, ...caller() });
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await mesh?.stop();
  }, 30_000);

  it('calls a task by name and by its typed definition', async () => {
    expect(await client.call('echo', { hi: 1 })).toEqual({ hi: 1 });
    const echoed: { text: string } = await client.call(echoTask, { text: 'typed' });
    expect(echoed).toEqual({ text: 'typed' });
    const ran = await client.call(sleepTask, { ms: 10 });
    expect(['w1', 'w2']).toContain(ran.worker);
    // Direct calls go through the router when no DirectPath is wired: asked for, or declared by the definition.
    const pingTask = defineTask<null, { pong: true; worker: string }>('ping', undefined, { delivery: 'direct' });
    expect(await client.call(pingTask, null)).toMatchObject({ pong: true });
    expect(await client.call('echo', { d: 1 }, { delivery: 'direct' })).toEqual({ d: 1 });
  }, 20_000);

  it('submits, waits for the outcome, gets the record and lists it', async () => {
    const id = await client.submit(sleepTask, { ms: 200 });
    expect(id).toMatch(/^inv-/);
    const result = await client.wait<RunInfo>(id, { timeoutMs: 10_000 });
    expect(result.invocationId).toBe(id);
    const record = await waitFor(async () => {
      const r = await client.get(id);
      return r.state === 'SUCCESS' ? r : undefined;
    }, { timeoutMs: 5000, what: 'record SUCCESS' });
    expect(record).toMatchObject({ id, task: 'sleep', attempts: 1, result: { invocationId: id } });
    const listed = await client.list({ task: 'sleep', limit: 50 });
    expect(listed.map((r) => r.id)).toContain(id);
    await expect(client.get('no-such-invocation')).rejects.toBeInstanceOf(NotFoundError);
  }, 20_000);

  it('a wait that runs out rejects with MeshTimeoutError naming the state; the invocation goes on', async () => {
    const id = await client.submit('sleep', { ms: 1500 });
    const err = await client.wait(id, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeshTimeoutError);
    expect((err as MeshTimeoutError).details).toMatchObject({ invocationId: id, state: expect.stringMatching(/^(WAITING|RUNNING)$/) });
    expect(await client.wait<RunInfo>(id, { timeoutMs: 10_000 })).toMatchObject({ invocationId: id });
  }, 20_000);

  it('cancels a running sleep: its waiter gets CancelledError', async () => {
    const id = await client.submit('sleep', { ms: 20_000 });
    await waitFor(async () => (await client.get(id)).state === 'RUNNING', { timeoutMs: 10_000, what: 'sleep RUNNING' });
    const answer = await client.cancel(id);
    expect(['RUNNING', 'FAILURE']).toContain(answer.state);
    const err = await client.wait(id, { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(err).toMatchObject({ code: 'CANCELLED', retryable: false, details: { invocationId: id } });
  }, 30_000);

  it('events(id) yields every progress EVENT in order, live, and ends at SUCCESS; again from the stream once finished', async () => {
    const id = await client.submit(sleepTask, { ms: 900, steps: 3 });
    const live = await collect(client.events(id));
    const shape = (events: ResponseMessage[]) => events.map((e) => (e.state === 'EVENT' ? `EVENT ${JSON.stringify(e.event?.details)}` : e.state));
    expect(shape(live)).toEqual([
      'RUNNING', 'EVENT {"step":1,"steps":3}', 'EVENT {"step":2,"steps":3}', 'EVENT {"step":3,"steps":3}', 'SUCCESS',
    ]);
    expect(live.at(-1)?.result).toMatchObject({ invocationId: id });
    expect(shape(await collect(client.events(id)))).toEqual(shape(live));
  }, 20_000);

  it('breaking out of events(id) removes its consumer from the server', async () => {
    // Listing the stream's consumers is the admin's view.
    const jsm = await jetstreamManager(mesh.admin);
    const consumers = async (): Promise<string[]> => (await jsm.consumers.list('MESH_EVENTS').next()).map((c) => c.name).sort();
    const before = await consumers();
    const id = await client.submit('sleep', { ms: 5000, steps: 10 });
    for await (const e of client.events(id)) {
      expect((await consumers()).length).toBe(before.length + 1);
      if (e.state === 'EVENT') break;
    }
    await waitFor(async () => (await consumers()).join() === before.join(), { timeoutMs: 5000, what: 'the events consumer removed' });
    await client.cancel(id);
  }, 20_000);

  it('events(id) ends with a final state written only to the record (a WAITING invocation cancelled)', async () => {
    // The second invocation of a key waits (WAITING) while the first one runs; cancelling it writes only its record.
    const first = await client.submit('sleep', { ms: 20_000 }, { key: 'client-e2e' });
    const second = await client.submit('sleep', { ms: 10 }, { key: 'client-e2e' });
    await waitFor(async () => (await client.get(first)).state === 'RUNNING', { timeoutMs: 10_000, what: 'first RUNNING' });
    const events = client.events(second);
    const cancelled = await client.cancel(second);
    expect(cancelled).toMatchObject({ state: 'FAILURE', data: { failure: { code: 'CANCELLED' } } });
    const seen = await collect(events);
    expect(seen.map((e) => e.state)).toEqual(['FAILURE']);
    expect(seen[0]?.failure?.code).toBe('CANCELLED');
    await client.cancel(first);
  }, 40_000);

  it('a cycle of child calls rejects with CycleDetectedError', async () => {
    const err = await client.call('chain', { depth: 2, cycleTo: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CycleDetectedError);
    expect(err).toMatchObject({ code: 'CYCLE_DETECTED', retryable: false, details: { invocationId: expect.stringMatching(/^inv-/) } });
  }, 30_000);

  it('an unknown task and a bad option are refused with their errors', async () => {
    const unknown = await client.call('no-such-task', {}).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(UnknownTaskError);
    expect(unknown).toMatchObject({ code: 'UNKNOWN_TASK' });
    const bad = await client.call('echo', {}, { key: '' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(InvalidMessageError);
    expect(bad).toMatchObject({ code: 'BAD_REQUEST', retryable: false });
    expect((bad as InvalidMessageError).problems.join()).toMatch(/key/);
  }, 20_000);

  it('a reply that breaks the contract is an InternalError naming what was wrong; a subject nobody serves says so', async () => {
    // A stand-in "router" on another prefix (served from the admin connection), answering a SUCCESS without its
    // data, and a workers list of the wrong shape.
    const fake = await MeshClient.fromConnection(client.nc, { prefix: 'fake' });
    const subs = [
      mesh.admin.subscribe('fake.call.echo', { callback: (_e, m) => void m.respond('{"v":1,"type":"RESPONSE","id":"i1","state":"SUCCESS"}') }),
      mesh.admin.subscribe('fake.workers.list', { callback: (_e, m) => void m.respond('{"v":1,"workers":[{"id":7}]}') }),
    ];
    try {
      await mesh.admin.flush();
      const call = await fake.call('echo', {}).catch((e: unknown) => e);
      expect(call).toBeInstanceOf(InternalError);
      expect(call).toMatchObject({ message: 'malformed reply to fake.call.echo: data: is required for SUCCESS ({"result": ...})', details: { subject: 'fake.call.echo' } });
      const workers = await fake.workers().catch((e: unknown) => e);
      expect(workers).toBeInstanceOf(InternalError);
      expect((workers as InternalError).details?.['problems']).toEqual(expect.arrayContaining(['workers[0].id: must be a string', 'workers[0].topic: must be a string']));
      const nobody = await fake.get('i1').catch((e: unknown) => e);
      expect(nobody).toMatchObject({ code: 'INTERNAL', retryable: true, message: expect.stringMatching(/^nobody serves fake\.invocations\.get: no orchestrator answers/) });
    } finally {
      subs.forEach((sub) => sub.unsubscribe());
      await fake.close();
    }
    expect(client.nc.isClosed()).toBe(false); // the connection was the caller's
  }, 20_000);

  it('sends the calls a DirectPath accepts through it, the rest through the router; direct: router leaves it out', async () => {
    const asked: Array<{ task: string; delivery?: string; timeoutMs: number }> = [];
    const fakeDirect: DirectPath = {
      accepts: (_task, options) => options.delivery === 'direct',
      call: async (task, _args, options) => {
        asked.push({ task, timeoutMs: options.timeoutMs, ...(options.delivery === undefined ? {} : { delivery: options.delivery }) });
        return ResponseMessage.success('inv-direct', { via: 'direct path' });
      },
      close: async () => undefined,
    };
    const smart = await MeshClient.fromConnection(client.nc, { timeoutMs: 4000 }, { direct: async () => fakeDirect });
    const pingTask = defineTask('ping', undefined, { delivery: 'direct' });
    expect(await smart.call('echo', { x: 1 }, { delivery: 'direct' })).toEqual({ via: 'direct path' });
    expect(await smart.call(pingTask, null)).toEqual({ via: 'direct path' });
    expect(await smart.call('echo', { x: 2 })).toEqual({ x: 2 });
    expect(asked).toEqual([{ task: 'echo', delivery: 'direct', timeoutMs: 4000 }, { task: 'ping', delivery: 'direct', timeoutMs: 4000 }]);
    const viaRouter = await MeshClient.fromConnection(client.nc, { direct: 'router' }, { direct: async () => fakeDirect });
    expect(await viaRouter.call('echo', { x: 3 }, { delivery: 'direct' })).toEqual({ x: 3 });
    expect(asked).toHaveLength(2);
  }, 20_000);

  it('lists the live workers', async () => {
    const workers = await client.workers();
    expect(workers.map((w) => w.id).sort()).toEqual(['w1', 'w2']);
    expect(workers[0]?.tasks).toEqual(expect.arrayContaining(['echo', 'sleep']));
  }, 10_000);

  it('creates, gets, lists, follows, updates and deletes a dispatch', async () => {
    const controller = new AbortController();
    const follow = client.dispatches.follow('client-d1', { signal: controller.signal });
    const first = follow.next(); // starts the subscription; the flush makes sure the server has it before we act
    await client.nc.flush();
    const start = new Date(Date.now() + 3_600_000).toISOString();
    const created = await client.dispatches.create({ id: 'client-d1', task: 'echo', args: { tick: 1 }, start });
    expect(created).toMatchObject({ id: 'client-d1', task: 'echo', args: { tick: 1 }, start, active: true, misfire: 'skip' });
    expect(await client.dispatches.get('client-d1')).toEqual(created);
    expect((await client.dispatches.list()).map((d) => d.id)).toContain('client-d1');
    expect(await client.dispatches.update('client-d1', { active: false })).toMatchObject({ id: 'client-d1', active: false });
    await client.dispatches.delete('client-d1');
    await expect(client.dispatches.get('client-d1')).rejects.toBeInstanceOf(NotFoundError);
    const events = [await first, await follow.next(), await follow.next()].map((r) => (r.done ? 'done' : r.value.event));
    expect(events).toEqual(['created', 'updated', 'deleted']);
    controller.abort();
    expect((await follow.next()).done).toBe(true);
  }, 20_000);

  it('lists dead letters', async () => {
    // Forged on the work stream, as the admin (only the router queues work).
    await jetstream(mesh.admin).publish('mesh.work.echo', '{"this is":"not a REQUEST"}');
    const letters = await waitFor(async () => {
      const list = await client.deadLetters({ limit: 10 });
      return list.length > 0 ? list : undefined;
    }, { timeoutMs: 10_000, what: 'a dead letter' });
    // Not a REQUEST: filed under `invalid` (docs/PROTOCOL.md 4.7, dead letters).
    expect(letters[0]).toMatchObject({ task: 'invalid', body: { 'this is': 'not a REQUEST' } });
    expect(letters[0]?.reason).toMatch(/\S/);
  }, 20_000);

  it('a signal aborts a call: CancelledError at once, and the invocation is cancelled in the mesh', async () => {
    const controller = new AbortController();
    const since = new Date(Date.now() - 1000).toISOString(); // (router and test share a clock; 1 s of slack)
    const calling = client.call('sleep', { ms: 20_000 }, { signal: controller.signal });
    const id = await waitFor(async () => (await client.list({ task: 'sleep', state: 'RUNNING', limit: 10 })).find((r) => r.createdAt >= since)?.id, {
      timeoutMs: 10_000, what: 'the called sleep RUNNING',
    });
    controller.abort();
    const err = await calling.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect((err as CancelledError).details).toMatchObject({ invocationId: id, cancelled: true });
    await waitFor(async () => (await client.get(id)).failure?.code === 'CANCELLED', { timeoutMs: 10_000, what: 'the aborted call cancelled in the mesh' });
  }, 30_000);

  it('a Nest app injects MeshClient (forRoot and forRootAsync) and the module closes it on shutdown', async () => {
    @Injectable()
    class Greeter {
      constructor(readonly mesh: MeshClient) {}
      greet(): Promise<unknown> {
        return this.mesh.call('echo', { hello: 'nest' });
      }
    }
    for (const imported of [
      MeshClientModule.forRoot({ servers: mesh.server.url, ...caller() }),
      MeshClientModule.forRootAsync({ useFactory: async () => ({ servers: mesh.server.url, ...caller(), name: 'nest-async' }) }),
    ]) {
      @Module({ imports: [imported], providers: [Greeter] })
      class AppModule {}
      const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
      const greeter = app.get(Greeter);
      expect(await greeter.greet()).toEqual({ hello: 'nest' });
      await app.close();
      expect(greeter.mesh.nc.isClosed()).toBe(true);
    }
  }, 30_000);
});

describe(`${MeshClient.name}.connect`, () => {
  let server: NatsServer | undefined;
  afterAll(async () => server?.stop(), 15_000);

  it('says which server it cannot reach', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const err = await MeshClient.connect({ servers: url, connectAttempts: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeshConnectError);
    expect((err as Error).message).toMatch(new RegExp(`^cannot connect to ${url}: .+\\(2 attempts\\)$`));
  }, 20_000);

  it('connects with user and password to a server that requires them, and is refused at once with wrong ones', async () => {
    server = await startNatsServer({ config: 'authorization { user: alice, password: s3cret }' });
    const router = spawnApp('router', { NATS_URL: server.url, NATS_USER: 'alice', NATS_PASSWORD: 's3cret', MESH_HTTP_PORT: '0' }, { name: 'auth-router' });
    try {
      await router.waitForLine(/"router started"/, 20_000);
      const authed = await MeshClient.connect({ servers: server.url, user: 'alice', password: 's3cret' });
      try {
        expect(await authed.workers()).toEqual([]);
      } finally {
        await authed.close();
      }
      const started = performance.now();
      const refused = await MeshClient.connect({ servers: server.url, user: 'alice', password: 'wrong', connectAttempts: 3 }).catch((e: unknown) => e);
      // At once: three tries would take at least two pauses of CONNECT_RETRY_DELAY_MS.
      expect(performance.now() - started).toBeLessThan(2 * CONNECT_RETRY_DELAY_MS);
      expect(refused).toBeInstanceOf(MeshConnectError);
      expect(refused).toMatchObject({ retryable: false, message: expect.stringMatching(/^cannot connect to .*: the server refused the credentials/) });
    } finally {
      await router.stop();
    }
  }, 40_000);
});
