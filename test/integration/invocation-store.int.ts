import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { newInvocationRecord, Role } from '@taskmesh/protocol';
import { createMeshBus, declareMeshTopology, KvInvocationStore, type MeshBus } from '@taskmesh/nats';
import { startNatsServer, waitFor, type NatsServer } from '@taskmesh/testing';

const T = 30_000;

// Invocation ids may contain `:` (the scheduler's `dispatch:<id>:<epoch ms>`), which KV keys may not.
describe(KvInvocationStore.name, () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let bus: MeshBus;

  beforeAll(async () => {
    server = await startNatsServer();
    // The test stands in for the apps' lib code and reads JetStream directly: the admin, who may do all of it.
    nc = await connect({ servers: server.url, ...server.login(Role.Admin) });
    await declareMeshTopology(await jetstreamManager(nc), 'mesh');
    bus = await createMeshBus(nc);
  }, T);
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  }, T);

  it('stores, reads, lists, updates and deletes records whose ids contain colons', async () => {
    const record = newInvocationRecord({ id: 'dispatch:nightly:1795411736000', task: 'echo', createdAt: new Date().toISOString() });
    expect(await bus.invocations.create(record)).toBe(true);
    expect(await bus.invocations.create(record)).toBe(false);
    const stored = await bus.invocations.get(record.id);
    expect(stored?.record.id).toBe(record.id);
    expect(await bus.invocations.update({ ...record, attempts: 1 }, stored!.revision)).toBe(true);
    const scanned: string[] = [];
    await bus.invocations.walk({ fromSeq: 1 }, ({ record: r }) => void scanned.push(r.id));
    expect(scanned).toContain(record.id);
    await bus.invocations.delete(record.id);
    expect(await bus.invocations.get(record.id)).toBeUndefined();
    // Gone without a purge marker (the janitor removes records by the million), and the id can be recorded again.
    const info = await (await jetstreamManager(nc)).streams.info('KV_MESH_INVOCATIONS', { subjects_filter: '$KV.MESH_INVOCATIONS.>' });
    expect(info.state.messages).toBe(0);
    expect(await bus.invocations.create(record)).toBe(true);
  }, T);

  it('deletes a record only at the revision given: one rewritten or re-created since stays', async () => {
    const record = newInvocationRecord({ id: 'dispatch:nightly:1795411738000', task: 'echo', createdAt: new Date().toISOString() });
    expect(await bus.invocations.create(record)).toBe(true);
    const first = (await bus.invocations.get(record.id))!.revision;
    expect(await bus.invocations.update({ ...record, rejected: 1 }, first)).toBe(true);
    expect(await bus.invocations.delete(record.id, first)).toBe(false);
    const second = (await bus.invocations.get(record.id))!.revision;
    expect(await bus.invocations.delete(record.id, second)).toBe(true);
    expect(await bus.invocations.get(record.id)).toBeUndefined();
    // Purged by one janitor replica and accepted again: another replica's purge at the old revision misses it.
    expect(await bus.invocations.create(record)).toBe(true);
    expect(await bus.invocations.delete(record.id, second)).toBe(false);
    expect((await bus.invocations.get(record.id))?.record).toEqual(record);
  }, T);

  it('cancels such ids and tells watchers the id, not the key', async () => {
    const seen: string[] = [];
    const stop = await bus.cancellations.watch((id) => seen.push(id));
    await bus.cancellations.cancel('dispatch:nightly:1795411737000');
    await waitFor(() => seen.includes('dispatch:nightly:1795411737000'), { timeoutMs: 5000, what: 'the cancellation' });
    stop();
  }, T);
});
