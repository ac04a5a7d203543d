import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, isNatsUnreachable, NatsAuthError, NatsUnreachableError, watchNatsStatus, type NatsLog } from '@taskmesh/nats';
import { Role } from '@taskmesh/protocol';
import { freePort, startNatsServer, waitFor, type NatsServer } from '@taskmesh/testing';

const T = 30_000;

/** `role`'s login on `server` in connectNats's option names. */
function loginOf(server: NatsServer, role: Role): { user: string; password: string } {
  const { user, pass } = server.login(role);
  return { user, password: pass };
}

/** A NatsLog that keeps what it was told. */
function recorder(): { log: NatsLog; entries: { msg: string; level: string; fields: Record<string, unknown> }[] } {
  const entries: { msg: string; level: string; fields: Record<string, unknown> }[] = [];
  return { entries, log: (msg, { level, ...fields }) => entries.push({ msg, level, fields }) };
}

describe(connectNats.name, () => {
  const servers: NatsServer[] = [];
  const connections: NatsConnection[] = [];

  afterEach(async () => {
    await Promise.all(connections.splice(0).map((nc) => nc.close()));
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  }, T);

  it('connects and reports the server', async () => {
    const server = await startNatsServer();
    servers.push(server);
    const { log, entries } = recorder();
    const nc = await connectNats({ servers: server.url, ...loginOf(server, Role.Caller), name: 'test-client' }, log);
    connections.push(nc);
    expect(nc.info?.version).toMatch(/^2\./);
    expect(entries).toContainEqual(expect.objectContaining({ msg: 'connected to NATS', level: 'info' }));
  }, T);

  it('gives up after the bounded retry with NatsUnreachableError naming the URL and the attempts', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const { log, entries } = recorder();
    const started = performance.now();
    const failure = connectNats({ servers: url, name: 'test-client', connectAttempts: 3, connectDelayMs: 100 }, log);
    await expect(failure).rejects.toThrow(NatsUnreachableError);
    await expect(failure).rejects.toThrow(`NATS unreachable at ${url} after 3 attempts`);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(entries.filter((e) => e.msg === 'NATS not reachable yet')).toHaveLength(3);
    expect(isNatsUnreachable(await failure.catch((err: unknown) => err))).toBe(true);
  }, T);

  it('waits for a server that starts while it retries', async () => {
    const port = await freePort();
    const connecting = connectNats({ servers: `nats://127.0.0.1:${port}`, name: 'test-client', connectAttempts: 50, connectDelayMs: 50 });
    // Anonymous: the client starts connecting before the server, and so its generated users, exist.
    const server = await startNatsServer({ port, jetstream: false, auth: false });
    servers.push(server);
    const nc = await connecting;
    connections.push(nc);
    expect(nc.getServer()).toBe(`127.0.0.1:${port}`);
  }, T);

  it('fails at once, without retrying, when the credentials are refused', async () => {
    const server = await startNatsServer({ config: 'authorization { users: [ { user: "alice", password: "right" } ] }', jetstream: false });
    servers.push(server);
    const { log, entries } = recorder();
    const started = performance.now();
    const failure = connectNats({ servers: server.url, user: 'alice', password: 'wrong', name: 'test-client', connectAttempts: 20, connectDelayMs: 500 }, log);
    await expect(failure).rejects.toThrow(NatsAuthError);
    await expect(failure).rejects.toThrow(/refused the connection of user "alice"/);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(entries.filter((e) => e.msg === 'NATS not reachable yet')).toHaveLength(0);
    const nc = await connectNats({ servers: server.url, user: 'alice', password: 'right', name: 'test-client' });
    connections.push(nc);
  }, T);

  it('reconnects after a nats-server restart, and the status watch logs it', async () => {
    const server = await startNatsServer();
    servers.push(server);
    const { log, entries } = recorder();
    // A subject of the test's own (`ping`): the admin may use it.
    const nc = await connectNats({ servers: server.url, ...loginOf(server, Role.Admin), name: 'test-client' });
    connections.push(nc);
    const watching = watchNatsStatus(nc, log);
    nc.subscribe('ping', {
      callback: (_err, msg) => {
        msg.respond('pong');
      },
    });

    await server.restart();

    await waitFor(() => entries.some((e) => e.msg === 'reconnected to NATS'), { timeoutMs: 10_000, what: 'the reconnect to be logged' });
    expect(entries).toContainEqual(expect.objectContaining({ msg: 'disconnected from NATS', level: 'warn' }));
    // The subscription was re-established on the new server process.
    expect((await nc.request('ping', '', { timeout: 2_000 })).string()).toBe('pong');
    await nc.close();
    await watching;
    expect(entries.at(-1)).toMatchObject({ msg: 'NATS connection closed' });
  }, T);

  it('surfaces a publish to a forbidden subject as a logged server error (it does not throw)', async () => {
    const server = await startNatsServer({
      config: 'authorization { users: [ { user: "w", password: "p", permissions: { publish: { allow: ["ok.>"] } } } ] }',
      jetstream: false,
    });
    servers.push(server);
    const { log, entries } = recorder();
    const nc = await connectNats({ servers: server.url, user: 'w', password: 'p', name: 'test-client' });
    connections.push(nc);
    void watchNatsStatus(nc, log);
    expect(() => nc.publish('forbidden.subject', 'x')).not.toThrow();
    await waitFor(() => entries.find((e) => e.msg === 'NATS server error'), { timeoutMs: 5_000, what: 'the permission violation to be logged' });
    expect(entries.find((e) => e.msg === 'NATS server error')?.fields['err']).toMatch(/permissions violation for publish to "forbidden.subject"/i);
  }, T);
});
