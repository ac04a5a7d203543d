import { jetstream, jetstreamManager, type Consumer, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Subjects, Role } from '@taskmesh/protocol';
import { declareMeshTopology, ensureKeyedConsumers, ensureTaskConsumer, meshNames } from '@taskmesh/nats';
import { startNatsServer, type NatsServer } from '@taskmesh/testing';

const T = 30_000;
const ACK_WAIT_MS = 2_000;
/** nats.js's shortest pull expiry. */
const SHORT_MS = 1_000;
const MAX_DELIVER = 3;

// What keyed order relies on, pinned on the nats-server the suite runs (2.9.10 in CI): a key shard's consumer
// (max_ack_pending 1) hands out one message at a time in stream order, and a message that is nak'd with a delay
// (a retry) or whose worker went silent (ack wait) stays pending, keeps the next one back, and comes back first.
// See keyedConsumerConfig in libs/nats/src/topology/configs.ts and docs/ARCHITECTURE.md, "Keyed order".
describe('key shard consumer (max_ack_pending 1)', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let js: JetStreamClient;
  const subjects = new Subjects('mesh');
  const names = meshNames('mesh');
  const limits = { ackWaitMs: ACK_WAIT_MS, maxDeliver: MAX_DELIVER, keyShards: 8 };

  const shard = (n: number): Promise<Consumer> => js.consumers.get(names.workStream, names.keyedConsumer(n));
  /** One pull of one message, as a worker's raw pull does; null when none came within `expiresMs`. */
  const next = async (n: number, expiresMs: number): Promise<JsMsg | null> => (await shard(n)).next({ expires: expiresMs });
  const body = (m: JsMsg | null): string | undefined => m?.string();
  const publish = async (task: string, n: number, ...bodies: string[]): Promise<void> => {
    for (const b of bodies) await js.publish(subjects.keyedWork(task, n), b);
  };

  beforeAll(async () => {
    server = await startNatsServer();
    // The test stands in for the apps' lib code and reads JetStream directly: the admin, who may do all of it.
    nc = await connect({ servers: server.url, ...server.login(Role.Admin) });
    const jsm = await jetstreamManager(nc);
    await declareMeshTopology(jsm, 'mesh', limits);
    // Task consumers and shard consumers share the work-queue stream: their filters must not overlap.
    await ensureTaskConsumer(jsm, 'mesh', 'sleep', limits);
    const declared = await ensureKeyedConsumers(jsm, 'mesh', limits);
    expect(declared.map((d) => d.outcome)).toEqual(Array(8).fill('created'));
    expect((await ensureKeyedConsumers(jsm, 'mesh', limits)).map((d) => d.outcome)).toEqual(Array(8).fill('unchanged'));
    js = jetstream(nc);
  }, T);
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  }, T);

  it('hands out one message of the shard at a time, in stream order, whatever the task', async () => {
    await publish('sleep', 0, 'a1');
    await publish('echo', 0, 'a2');
    await publish('sleep', 0, 'a3');
    const first = await next(0, 1000);
    expect(body(first)).toBe('a1');
    // Another worker's pull meanwhile gets nothing: a1 is pending.
    expect(await next(0, SHORT_MS)).toBeNull();
    first!.ack();
    const second = await next(0, 1000);
    expect(body(second)).toBe('a2');
    expect(second!.subject).toBe('mesh.work.echo.0');
    second!.ack();
    const third = await next(0, 1000);
    expect(body(third)).toBe('a3');
    third!.ack();
    expect(await next(0, SHORT_MS)).toBeNull();
  }, T);

  it('keeps the next message back while one is nak\'d with a delay, and delivers the nak\'d one first', async () => {
    await publish('sleep', 1, 'b1', 'b2');
    const first = await next(1, 1000);
    expect(body(first)).toBe('b1');
    const nakAt = Date.now();
    first!.nak(2500);
    // A retry keeps its place: nothing of the shard is handed out while it waits.
    expect(await next(1, SHORT_MS)).toBeNull();
    const again = await next(1, 4000);
    expect(body(again)).toBe('b1');
    expect(again!.info.deliveryCount).toBe(2);
    expect(Date.now() - nakAt).toBeGreaterThanOrEqual(2400);
    again!.ack();
    expect(body(await next(1, 1000))).toBe('b2');
  }, T);

  it('redelivers a message whose worker went silent before any newer one, after the ack wait', async () => {
    await publish('sleep', 2, 'c1', 'c2');
    const first = await next(2, 1000);
    expect(body(first)).toBe('c1');
    // Its worker dies: no ack, no nak. The next pull (another worker) waits out the ack wait and gets c1 again.
    const again = await next(2, 3 * ACK_WAIT_MS);
    expect(body(again)).toBe('c1');
    expect(again!.info.deliveryCount).toBe(2);
    again!.ack();
    expect(body(await next(2, 1000))).toBe('c2');
  }, T);

  it('keeps a message with in-progress acks past the ack wait', async () => {
    await publish('sleep', 3, 'd1', 'd2');
    const first = await next(3, 1000);
    expect(body(first)).toBe('d1');
    const keepAlive = setInterval(() => first!.working(), ACK_WAIT_MS / 3);
    try {
      expect(await next(3, 2.5 * ACK_WAIT_MS)).toBeNull();
    } finally {
      clearInterval(keepAlive);
    }
    first!.ack();
    expect(body(await next(3, 1000))).toBe('d2');
  }, T);

  it('lets the shard go on once a message has used up max_deliver (the orchestrator settles that one)', async () => {
    await publish('sleep', 4, 'e1', 'e2');
    for (let delivery = 1; delivery <= MAX_DELIVER; delivery++) {
      const m = await next(4, 3 * ACK_WAIT_MS);
      expect([body(m), m?.info.deliveryCount]).toEqual(['e1', delivery]);
    }
    // e1 is left in the stream, undelivered (a max-deliveries advisory names it); e2 is no longer held back.
    const after = await next(4, 3 * ACK_WAIT_MS);
    expect(body(after)).toBe('e2');
    after!.ack();
  }, T);

  it('keeps unkeyed work out of the shards and keyed work out of the task consumer', async () => {
    await js.publish(subjects.work('sleep'), 'plain');
    await publish('sleep', 5, 'keyed');
    const task = await js.consumers.get(names.workStream, names.taskConsumer('sleep'));
    const plain = await task.next({ expires: 1000 });
    expect(body(plain)).toBe('plain');
    plain!.ack();
    expect(await task.next({ expires: SHORT_MS })).toBeNull();
    const keyed = await next(5, 1000);
    expect(body(keyed)).toBe('keyed');
    keyed!.ack();
  }, T);
});
