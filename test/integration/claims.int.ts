import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { TaskConcurrency, TaskOffer, Role } from '@taskmesh/protocol';
import { createMeshBus, declareMeshTopology, KvConcurrencyClaims, KvLease, type MeshBus } from '@taskmesh/nats';
import { startNatsServer, waitFor, type NatsServer } from '@taskmesh/testing';

const T = 30_000;
const at = (): string => new Date().toISOString();

// The claims bucket and the tasks bucket against a real nats-server: what the router and workers rely on for
// concurrency controls.
describe(KvConcurrencyClaims.name, () => {
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

  it('gives a key to exactly one of many concurrent claimants, and shows the others who holds it', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => bus.claims.claim('run.t.one', { id: `inv-${i}`, at: at() })));
    const winners = results.filter((r) => r === undefined);
    expect(winners).toHaveLength(1);
    const holder = (await bus.claims.holder('run.t.one'))!.claim.id;
    for (const r of results) if (r !== undefined) expect(r.claim.id).toBe(holder);
  }, T);

  it('releases only for its holder, and takes over only at the revision read', async () => {
    await bus.claims.claim('reg.t.two', { id: 'a', at: at() });
    await bus.claims.release('reg.t.two', 'someone-else');
    const held = (await bus.claims.holder('reg.t.two'))!;
    expect(held.claim.id).toBe('a');
    expect(await bus.claims.takeOver('reg.t.two', { id: 'b', at: at() }, held.revision)).toBe(true);
    // A second claimant that read the same (now old) revision loses.
    expect(await bus.claims.takeOver('reg.t.two', { id: 'c', at: at() }, held.revision)).toBe(false);
    await bus.claims.release('reg.t.two', 'b');
    expect(await bus.claims.holder('reg.t.two')).toBeUndefined();
    // Released without a delete marker: claims come and go by the million, markers would stay forever.
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info('KV_MESH_CLAIMS', { subjects_filter: '$KV.MESH_CLAIMS.reg.t.two' })).state.subjects ?? {}).toEqual({});
    // Released keys can be claimed again.
    expect(await bus.claims.claim('reg.t.two', { id: 'd', at: at() })).toBeUndefined();
  }, T);

  it('publishes task offers with their concurrency controls to watchers, and reports entries that are not offers', async () => {
    const concurrency = TaskConcurrency.create({ running: 'keys', keyArgs: ['db'] });
    await bus.tasks.offer('exclusive', 'w1', concurrency);
    const seen = new Map<string, TaskOffer>();
    const invalid: string[] = [];
    const stop = await bus.tasks.watch((o) => seen.set(o.task, o), { onInvalid: (task) => invalid.push(task) });
    await bus.tasks.offer('echo', 'w2');
    const kv = await new Kvm(nc).open(bus.names.tasksBucket);
    await kv.put('garbage', 'not json');
    await waitFor(() => seen.has('echo') && invalid.includes('garbage'), { timeoutMs: 5000, what: 'the offers and the invalid entry' });
    stop();
    expect(seen.get('exclusive')?.concurrency).toEqual(concurrency);
    expect(seen.get('echo')?.concurrency).toBeUndefined();
    expect((await bus.tasks.offers()).map((o) => o.task).sort()).toEqual(['echo', 'exclusive']);
  }, T);
});

describe(KvLease.name, () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let lease: KvLease;

  beforeAll(async () => {
    server = await startNatsServer();
    // The test stands in for the apps' lib code and reads JetStream directly: the admin, who may do all of it.
    nc = await connect({ servers: server.url, ...server.login(Role.Admin) });
    await declareMeshTopology(await jetstreamManager(nc), 'mesh');
    lease = new KvLease(await new Kvm(nc).open('MESH_LEASES'), 'scheduler');
  }, T);
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  }, T);

  it('has one holder among concurrent claimants, passes on expiry, and is free again once released', async () => {
    const now = Date.now();
    const won = await Promise.all(['a', 'b', 'c', 'd'].map((me) => lease.step(me, 1000, now)));
    expect(won.filter(Boolean)).toHaveLength(1);
    const holder = ['a', 'b', 'c', 'd'][won.indexOf(true)];
    const other = holder === 'a' ? 'b' : 'a';
    expect(await lease.step(holder, 1000, now + 500)).toBe(true); // renewed until now + 1500
    expect(await lease.step(other, 1000, now + 1000)).toBe(false);
    expect(await lease.step(other, 1000, now + 2000)).toBe(true); // expired: taken over
    expect(await lease.step(holder, 1000, now + 2100)).toBe(false);
    await lease.release(other);
    expect(await lease.step(holder, 1000, now + 2200)).toBe(true);
  }, T);
});
