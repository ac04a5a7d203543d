import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, RetentionPolicy, DiscardPolicy, StorageType } from '@nats-io/jetstream';
import { isStoreRetryable, isStreamFullError, isWrongRevision, StoredPublisher, StoreTimeoutError } from '@taskmesh/nats';
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

  it('publishRetrying sends again while no stream answers, and stores once what arrives twice', async () => {
    // No stream captures `late.>` until 600 ms from now, as while a clustered stream has no leader.
    const jsm = await jetstreamManager(nc);
    const creating = new Promise((r) => setTimeout(r, 600)).then(() => jsm.streams.add({ name: 'LATE', subjects: ['late.>'], storage: StorageType.Memory }));
    const started = performance.now();
    const ack = await publisher.publishRetrying('late.1', 'x', { msgId: 'late-1', retryForMs: 10_000 });
    await creating;
    expect(performance.now() - started).toBeGreaterThanOrEqual(500);
    expect(ack).toEqual({ stream: 'LATE', seq: 1 });
    // The second copy of an id that did arrive (its acknowledgement lost, say) comes back as a duplicate.
    expect(await publisher.publishRetrying('late.1', 'x', { msgId: 'late-1', retryForMs: 10_000 })).toEqual({ stream: 'LATE', seq: 1, duplicate: true });
    expect((await jsm.streams.info('LATE')).state.messages).toBe(1);
  }, T);

  it('publishRetrying gives up after retryForMs, and never retries a refusal', async () => {
    const silent = nc.subscribe('mute.>');
    await nc.flush();
    const started = performance.now();
    const err = await refusal(publisher.publishRetrying('mute.1', 'x', { retryForMs: 1_500 }));
    expect(err).toBeInstanceOf(StoreTimeoutError);
    expect(isStoreRetryable(err)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(performance.now() - started).toBeLessThan(4_000);
    silent.unsubscribe();

    await publisher.publish('full.a', 'x').catch(() => undefined);
    const refusedAt = performance.now();
    const full = await refusal(publisher.publishRetrying('full.b', 'y', { retryForMs: 10_000 }));
    expect(isStreamFullError(full)).toBe(true);
    expect(isStoreRetryable(full)).toBe(false);
    expect(performance.now() - refusedAt).toBeLessThan(1_000);
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
