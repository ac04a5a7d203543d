// Least-privilege NATS users: every app and the caller run as their own role's user on a nats-server that requires
// them (the authorization block `taskmesh auth init` writes), every flow of the mesh works with no permission
// violation anywhere, and what a role must not do is refused.
import { readFileSync } from 'node:fs';
import { jest } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { MeshClient, CancelledError, CycleDetectedError } from '@taskmesh/client';
import { generateMeshAuth, type MeshAuth } from '@taskmesh/cli';
import { Role } from '@taskmesh/protocol';
import { permissionViolations, ProcessGroup, spawnApp, startNatsServer, waitFor, type AppProcess, type NatsServer } from '@taskmesh/testing';

jest.setTimeout(120_000);

describe('per-role users on a server that requires them', () => {
  const group = new ProcessGroup();
  let server: NatsServer;
  let auth: MeshAuth;
  let apps: AppProcess[];
  let client: MeshClient;
  const login = (role: Role): { user: string; password: string } => {
    const c = auth.credentials.find((x) => x.role === role)!;
    return { user: c.user, password: c.password };
  };
  const env = (role: Role): Record<string, string> => {
    const { user, password } = login(role);
    return { NATS_URL: server.url, NATS_USER: user, NATS_PASSWORD: password, MESH_HTTP_PORT: '0', LOG_LEVEL: 'info', MESH_NOTIFY_PERIOD_MS: '500', MESH_EXPIRES_AFTER_MS: '1500' };
  };
  const violations = (): string[] => permissionViolations({ logFiles: [server.logFile], apps });

  beforeAll(async () => {
    auth = generateMeshAuth('mesh', { cost: 4 });
    server = group.add(await startNatsServer({ config: auth.config }));
    const started = (p: AppProcess, app: string): Promise<string> => p.waitForLine(new RegExp(`"${app} started"`), 30_000);
    const router = group.add(spawnApp('router', env(Role.Router), { name: 'router' }));
    await started(router, 'router');
    const rest = [
      // Short retention, so the janitor's passes (reads, deletes, walks) run within the test.
      group.add(spawnApp('orchestrator', { ...env(Role.Orchestrator), MESH_SWEEP_EVERY_MS: '500', MESH_PURGE_GENERATED_AFTER_MS: '1000', MESH_PURGE_AFTER_MS: '2000' }, { name: 'orchestrator' })),
      group.add(spawnApp('scheduler', { ...env(Role.Scheduler), MESH_SCHEDULER_ID: 's1' }, { name: 'scheduler' })),
      group.add(spawnApp('worker', { ...env(Role.Worker), MESH_WORKER_ID: 'w1', MESH_ACK_WAIT_MS: '2000' }, { name: 'w1' })),
      group.add(spawnApp('worker', { ...env(Role.Worker), MESH_WORKER_ID: 'w2', MESH_ACK_WAIT_MS: '2000' }, { name: 'w2' })),
    ];
    await Promise.all(rest.map((p) => started(p, p.name.startsWith('w') ? 'worker' : p.name)));
    apps = [router, ...rest];
    client = await MeshClient.connect({ servers: server.url, ...login(Role.Caller), name: 'caller', expiresAfterMs: 1500 });
    await waitFor(async () => (await client.workers()).length === 2, { timeoutMs: 15_000, what: '2 live workers' });
  });

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await group.stopAll();
  });

  it('refuses a client without credentials, and one with a wrong password', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
    await expect(connect({ servers: server.url, user: 'caller', pass: 'wrong', reconnect: false })).rejects.toThrow(/Authorization Violation/i);
    await expect(connect({ servers: server.url, user: 'nobody', pass: login(Role.Caller).password, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
  });

  it('runs every kind of call as the caller, with no permission violation in any process', async () => {
    expect(await client.call('echo', { a: 1 })).toEqual({ a: 1 });
    expect(await client.call('echo', { a: 2 }, { delivery: 'direct' })).toEqual({ a: 2 });
    expect(await client.call('echo', { a: 3 }, { id: 'auth-chosen-1' })).toEqual({ a: 3 });
    expect(await client.call('echo', { k: 1 }, { key: 'k1' })).toEqual({ k: 1 });

    const id = await client.submit('sleep', { ms: 300, steps: 3 });
    const seen: string[] = [];
    for await (const e of client.events(id)) seen.push(e.state);
    expect(seen.at(-1)).toBe('SUCCESS');
    // The record follows the events (the orchestrator writes it from them, a few ms later).
    await waitFor(async () => (await client.get(id)).state === 'SUCCESS', { timeoutMs: 10_000, what: 'the record to say SUCCESS' });
    expect((await client.list({ limit: 5 })).length).toBeGreaterThan(0);

    const long = await client.submit('sleep', { ms: 10_000 });
    await waitFor(async () => (await client.get(long)).state === 'RUNNING', { timeoutMs: 10_000, what: 'the long sleep to run' });
    await client.cancel(long);
    await expect(client.wait(long, { timeoutMs: 10_000 })).rejects.toBeInstanceOf(CancelledError);

    expect(await client.call('fanout', { count: 2, ms: 50 })).toBeDefined();
    await expect(client.call('chain', { depth: 2, cycleTo: 2 })).rejects.toBeInstanceOf(CycleDetectedError);
    await Promise.all([client.call('report', { name: 'auth', ms: 200 }), client.call('report', { name: 'auth', ms: 200 })]);
    await Promise.all([client.call('exclusive', { resource: 'auth', ms: 100 }), client.call('exclusive', { resource: 'auth', ms: 100 })]);
    await expect(client.call('fail', { message: 'no', retryable: true })).rejects.toThrow(/no/);
    await client.deadLetters({ limit: 5 });

    const dispatch = await client.dispatches.create({ task: 'echo', args: { d: 1 }, start: new Date(Date.now() + 300).toISOString() });
    const occurrence = `dispatch:${dispatch.id}:${Date.parse(dispatch.start)}`;
    await waitFor(async () => (await client.get(occurrence).catch(() => undefined))?.state === 'SUCCESS', { timeoutMs: 15_000, what: 'the dispatch to fire and succeed' });
    await client.dispatches.delete(dispatch.id);

    // A direct call placed by the router rather than by the client.
    const viaRouter = await MeshClient.connect({ servers: server.url, ...login(Role.Caller), direct: 'router' });
    try {
      expect(await viaRouter.call('echo', { via: 'router' }, { delivery: 'direct' })).toEqual({ via: 'router' });
    } finally {
      await viaRouter.close();
    }

    // A worker killed mid-run: its work is redelivered to the other worker, which finishes it.
    const lost = await client.submit('sleep', { ms: 1500 });
    const holder = await waitFor(async () => (await client.get(lost)).worker, { timeoutMs: 10_000, what: 'the sleep to start' });
    apps.find((a) => a.name === holder)!.kill('SIGKILL');
    expect(await client.wait(lost, { timeoutMs: 30_000 })).toBeDefined();
    expect((await client.get(lost)).attempts).toBeGreaterThanOrEqual(2);

    // Let the janitor run its passes over what is now old.
    await waitFor(async () => (await client.get(id).catch(() => undefined)) === undefined, { timeoutMs: 15_000, what: 'the janitor to purge a finished generated id' });

    expect(violations()).toEqual([]);
  });

  it('refuses what a role must not do, and says so in the server log', async () => {
    const caller: NatsConnection = await connect({ servers: server.url, ...{ user: login(Role.Caller).user, pass: login(Role.Caller).password } });
    try {
      // A caller may not delete the work stream, queue work behind the router's back, or beat as a worker.
      caller.publish('$JS.API.STREAM.DELETE.MESH_WORK', '');
      caller.publish('mesh.work.echo', '{}');
      caller.publish('mesh.notify', '{}');
      await caller.flush();
      await waitFor(() => {
        const log = readFileSync(server.logFile, 'utf8');
        return ['$JS.API.STREAM.DELETE.MESH_WORK', 'mesh.work.echo', 'mesh.notify"'].every((s) => log.includes(s)) && log.includes('Publish Violation');
      }, { timeoutMs: 5_000, what: 'the server to log the three refused publishes' });
    } finally {
      await caller.close();
    }
    // The stream is still there: the mesh still works.
    expect(await client.call('echo', { after: true })).toEqual({ after: true });
  });
});
