import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, RetentionPolicy, DiscardPolicy, StorageType } from '@nats-io/jetstream';
import { isStreamFullError, isWrongRevision, StoredPublisher } from '@taskmesh/nats';
import { Role } from '@taskmesh/protocol';
import { startNatsServer, type NatsServer } from '@taskmesh/testing';

const T = 30_000;

describe(StoredPublisher.name, () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let publisher: StoredPublisher;

  beforeAll(async () => {
    server = await startNatsServer();
    // The test stands in for the apps' lib code and reads JetStream directly: the admin, who may do all of it.
    nc = await connect({ servers: server.url, ...server.login(Role.Admin) });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'S', subjects: ['s.>'], storage: StorageType.Memory, duplicate_window: 60_000_000_000 });
    await jsm.streams.add({ name: 'FULL', subjects: ['full.>'], storage: StorageType.Memory, retention: RetentionPolicy.Workqueue, discard: DiscardPolicy.New, max_msgs: 1 });
    publisher = new StoredPublisher(nc);
  }, T);
  afterAll(async () => {
    publisher?.close();
    await nc?.close();
    await server?.stop();
  }, T);

  it('resolves each publish with its own acknowledgement, many at once', async () => {
    const acks = await Promise.all(Array.from({ length: 200 }, (_, i) => publisher.publish(`s.${i}`, `m${i}`)));
    expect(new Set(acks.map((a) => a.seq)).size).toBe(200);
    expect(acks.every((a) => a.stream === 'S')).toBe(true);
    const jsm = await jetstreamManager(nc);
    const m = await jsm.streams.getMessage('S', { seq: acks[7]!.seq });
    expect(m?.subject).toBe('s.7');
    expect(m?.string()).toBe('m7');
    expect(publisher.size).toBe(0);
  }, T);

  it('passes headers and the dedup id: a repeated id is acknowledged as a duplicate, not stored twice', async () => {
    const first = await publisher.publish('s.dup', 'a', { msgId: 'id-1', headers: { 'Mesh-X': 'y' } });
    const again = await publisher.publish('s.dup', 'b', { msgId: 'id-1' });
    expect(first.duplicate).toBeUndefined();
    expect(again).toEqual({ stream: 'S', seq: first.seq, duplicate: true });
    const m = await (await jetstreamManager(nc)).streams.getMessage('S', { seq: first.seq });
    expect(m?.header.get('Mesh-X')).toBe('y');
  }, T);

  it('writes conditionally on the subject\'s last sequence, and a lost race is a wrong-revision error', async () => {
    const created = await publisher.publish('s.kv', '1', { expectLastSubjectSeq: 0 });
    expect(isWrongRevision(await refusal(publisher.publish('s.kv', '2', { expectLastSubjectSeq: 0 })))).toBe(true);
    const updated = await publisher.publish('s.kv', '3', { expectLastSubjectSeq: created.seq });
    expect(updated.seq).toBeGreaterThan(created.seq);
    expect(isWrongRevision(await refusal(publisher.publish('s.kv', '4', { expectLastSubjectSeq: created.seq })))).toBe(true);
  }, T);

  it('rejects a refused publish with JetStream\'s error (a full stream is recognised as full)', async () => {
    await publisher.publish('full.1', 'x');
    expect(isStreamFullError(await refusal(publisher.publish('full.2', 'y')))).toBe(true);
  }, T);

  it('rejects a publish no stream captures, at once', async () => {
    const started = performance.now();
    await expect(publisher.publish('nowhere.1', 'x')).rejects.toThrow(/no stream captures/);
    expect(performance.now() - started).toBeLessThan(1_000);
  }, T);

  it('rejects a publish whose acknowledgement does not come in time, and forgets it', async () => {
    // A subscriber that never answers stands in for a stream that never acknowledges.
    const silent = nc.subscribe('silent.>');
    await nc.flush();
    await expect(publisher.publish('silent.1', 'x', { timeoutMs: 300 })).rejects.toThrow(/no acknowledgement/);
    expect(publisher.size).toBe(0);
    silent.unsubscribe();
  }, T);

  it('rejects what is still waiting when closed', async () => {
    const own = new StoredPublisher(nc);
    const silent = nc.subscribe('quiet.>');
    await nc.flush();
    const pending = own.publish('quiet.1', 'x', { timeoutMs: 10_000 });
    own.close();
    await expect(pending).rejects.toThrow(/closing/);
    silent.unsubscribe();
  }, T);
});

/** The error `p` rejects with (fails the test if it resolves). */
async function refusal(p: Promise<unknown>): Promise<unknown> {
  return p.then((v) => { throw new Error(`expected a refusal, got ${JSON.stringify(v)}`); }, (err: unknown) => err);
}
