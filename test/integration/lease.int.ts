import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { declareMeshTopology, KvLease, leaseStep, meshNames } from '#nats';
import { startNatsServer, type NatsServer } from '#testing';

const T = 30_000;

describe(leaseStep.name, () => {
  it('creates a free lease, renews its own, takes over an expired one, follows a live one', () => {
    expect(leaseStep(undefined, 'a', 1000)).toBe('create');
    expect(leaseStep({ holder: 'a', until: 500 }, 'a', 1000)).toBe('renew');
    expect(leaseStep({ holder: 'b', until: 999 }, 'a', 1000)).toBe('take-over');
    expect(leaseStep({ holder: 'b', until: 1000 }, 'a', 1000)).toBe('follow');
  });
});

describe(KvLease.name, () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let kv: KV;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
    await declareMeshTopology(await jetstreamManager(nc), 'mesh');
    kv = await new Kvm(jetstream(nc)).open(meshNames('mesh').leasesBucket);
  }, T);

  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  }, T);

  it('has exactly one winner when replicas step at the same time, again and again', async () => {
    for (let round = 0; round < 20; round++) {
      const name = `race-${round}`;
      const replicas = ['a', 'b', 'c', 'd'].map((me) => ({ me, lease: new KvLease(kv, name) }));
      const now = Date.now();
      const wins = await Promise.all(replicas.map((r) => r.lease.step(r.me, 10_000, now)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      // The winner keeps it; the others keep following while it is live.
      const winner = replicas[wins.indexOf(true)];
      const again = await Promise.all(replicas.map((r) => r.lease.step(r.me, 10_000, now + 1)));
      expect(again).toEqual(replicas.map((r) => r === winner));
    }
  }, T);

  it('is taken over once it expires, and only by one of the waiting replicas', async () => {
    const leader = new KvLease(kv, 'expiry');
    expect(await leader.step('leader', 1_000, 0)).toBe(true);
    const others = ['x', 'y', 'z'].map((me) => ({ me, lease: new KvLease(kv, 'expiry') }));
    expect(await Promise.all(others.map((o) => o.lease.step(o.me, 1_000, 999)))).toEqual([false, false, false]);
    const wins = await Promise.all(others.map((o) => o.lease.step(o.me, 1_000, 1_001)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    // The old leader, back, finds it taken: it follows.
    expect(await leader.step('leader', 1_000, 1_002)).toBe(false);
  }, T);

  it('is free at once after its holder releases it', async () => {
    const a = new KvLease(kv, 'release');
    const b = new KvLease(kv, 'release');
    expect(await a.step('a', 60_000)).toBe(true);
    expect(await b.step('b', 60_000)).toBe(false);
    await b.release('b'); // not the holder: nothing happens
    expect(await b.step('b', 60_000)).toBe(false);
    await a.release('a');
    expect(await b.step('b', 60_000)).toBe(true);
  }, T);
});
