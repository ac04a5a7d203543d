import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { failureOf, FailureCode, OverloadedError, Role } from '@taskmesh/protocol';
import {
  declareMeshTopology,
  DEFAULT_ACK_WAIT_MS,
  ensureTaskConsumer,
  isStreamFullError,
  meshNames,
  refusesAtByteLimit,
  TopologyConflictError,
  type TopologyReport,
} from '@taskmesh/nats';
import { startNatsServer, type NatsServer } from '@taskmesh/testing';

const T = 30_000;

describe(declareMeshTopology.name, () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;

  /** The configs of everything a prefix's topology owns, as the server reports them. */
  const snapshot = async (prefix: string): Promise<unknown[]> => {
    const names = meshNames(prefix);
    return Promise.all([names.workStream, names.eventStream, names.tasksBucketStream, names.invocationsBucketStream, names.cancelledBucketStream, names.claimsBucketStream, names.deadLetterStream].map(async (s) => (await jsm.streams.info(s)).config));
  };
  const outcomes = (r: TopologyReport): string[] => Object.values(r).map((d: { outcome: string }) => d.outcome);

  beforeAll(async () => {
    server = await startNatsServer();
    // The test stands in for the apps' lib code and reads JetStream directly: the admin, who may do all of it.
    nc = await connect({ servers: server.url, ...server.login(Role.Admin) });
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
  }, T);

  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  }, T);

  it('creates the work stream, the event stream and the tasks bucket as the architecture table says', async () => {
    const report = await declareMeshTopology(jsm, 'mesh');
    expect(report).toMatchObject({
      workStream: { kind: 'stream', name: 'MESH_WORK', outcome: 'created', changed: [] },
      eventStream: { kind: 'stream', name: 'MESH_EVENTS', outcome: 'created', changed: [] },
      tasksBucket: { kind: 'bucket', name: 'MESH_TASKS', outcome: 'created', changed: [] },
    });
    const [work, events, tasks] = await snapshot('mesh');
    expect(work).toMatchObject({
      name: 'MESH_WORK',
      subjects: ['mesh.work.>'],
      retention: 'workqueue',
      discard: 'new',
      storage: 'file',
      max_msgs: 100_000,
      // Below 2.10.5 a byte limit would drop old work despite discard: new (see the byte-bound tests below).
      max_bytes: refusesAtByteLimit(nc.info?.version) ? 1_073_741_824 : -1,
      max_msg_size: 1_048_576,
      duplicate_window: nanos(120_000),
    });
    expect(events).toMatchObject({ name: 'MESH_EVENTS', subjects: ['mesh.events.invocation.>'], retention: 'limits', max_age: nanos(86_400_000), max_bytes: 1_073_741_824 });
    expect(tasks).toMatchObject({ name: 'KV_MESH_TASKS', subjects: ['$KV.MESH_TASKS.>'], max_msgs_per_subject: 1, storage: 'file' });
  }, T);

  it('changes nothing on a second run: everything unchanged, configs equal before and after', async () => {
    await declareMeshTopology(jsm, 'mesh');
    const before = await snapshot('mesh');
    const report = await declareMeshTopology(jsm, 'mesh');
    expect(new Set(outcomes(report))).toEqual(new Set(['unchanged']));
    expect(await snapshot('mesh')).toEqual(before);
    expect(JSON.stringify(await snapshot('mesh'))).toBe(JSON.stringify(before));
  }, T);

  it('updates only the fields that differ when the limits change, then converges', async () => {
    const report = await declareMeshTopology(jsm, 'mesh', { workMaxMsgs: 500, eventsMaxAgeMs: 3_600_000 });
    expect(report.workStream).toMatchObject({ outcome: 'updated', changed: ['max_msgs'] });
    expect(report.eventStream).toMatchObject({ outcome: 'updated', changed: ['max_age'] });
    expect(report.tasksBucket.outcome).toBe('unchanged');
    expect((await jsm.streams.info('MESH_WORK')).config.max_msgs).toBe(500);
    expect(new Set(outcomes(await declareMeshTopology(jsm, 'mesh', { workMaxMsgs: 500, eventsMaxAgeMs: 3_600_000 })))).toEqual(new Set(['unchanged']));
    expect((await declareMeshTopology(jsm, 'mesh')).workStream).toMatchObject({ outcome: 'updated', changed: ['max_msgs'] });
  }, T);

  it('converges when several processes declare at the same time', async () => {
    const others = await Promise.all([1, 2, 3].map(() => connect({ servers: server.url, ...server.login(Role.Admin) })));
    try {
      const managers = await Promise.all(others.map((c) => jetstreamManager(c)));
      // Several rounds: a lost creation race shows up as "name in use" or, on 2.9, as "subjects overlap".
      for (const prefix of ['race', 'race1', 'race2', 'race3', 'race4', 'race5']) {
        const reports = await Promise.all(managers.map((m) => declareMeshTopology(m, prefix)));
        for (const key of ['workStream', 'eventStream', 'tasksBucket'] as const) {
          expect(reports.filter((r) => r[key].outcome === 'created').length).toBeGreaterThanOrEqual(1);
          expect(reports.every((r) => r[key].outcome !== 'updated')).toBe(true);
        }
        expect(new Set(outcomes(await declareMeshTopology(jsm, prefix)))).toEqual(new Set(['unchanged']));
      }
    } finally {
      await Promise.all(others.map((c) => c.close()));
    }
  }, T);

  it('names everything after the prefix', async () => {
    const report = await declareMeshTopology(jsm, 'acme.prod');
    expect(Object.values(report).map((d: { name: string }) => d.name)).toEqual(['ACME_PROD_WORK', 'ACME_PROD_EVENTS', 'ACME_PROD_TASKS', 'ACME_PROD_INVOCATIONS', 'ACME_PROD_CANCELLED', 'ACME_PROD_CLAIMS', 'ACME_PROD_DLQ', 'ACME_PROD_EXHAUSTED', 'ACME_PROD_DISPATCHES', 'ACME_PROD_LEASES']);
    expect((await jsm.streams.info('ACME_PROD_WORK')).config.subjects).toEqual(['acme.prod.work.>']);
  }, T);

  it('refuses, with what to do, a work stream whose retention cannot be changed in place', async () => {
    await jsm.streams.add({ name: 'LEGACY_WORK', subjects: ['legacy.work.>'], retention: 'limits', storage: 'file' });
    const before = (await jsm.streams.info('LEGACY_WORK')).config;
    const declaring = declareMeshTopology(jsm, 'legacy');
    await expect(declaring).rejects.toThrow(TopologyConflictError);
    await expect(declaring).rejects.toThrow(/LEGACY_WORK exists with retention="limits" \(taskmesh needs "workqueue"\).*nats stream rm LEGACY_WORK/);
    expect((await jsm.streams.info('LEGACY_WORK')).config).toEqual(before);
  }, T);

  it('refuses, clearly, when another stream already captures the work subjects', async () => {
    await jsm.streams.add({ name: 'SQUATTER', subjects: ['squat.work.>'], storage: 'memory' });
    await expect(declareMeshTopology(jsm, 'squat')).rejects.toThrow(/creating stream SQUAT_WORK failed: subjects overlap with an existing stream.*another stream already captures/);
  }, T);

  describe('a full work queue (discard new)', () => {
    // The real situation: workers are down, work piles up to the bound; new work must bounce, queued work must stay.
    it('refuses further publishes with an error isStreamFullError maps to OVERLOADED, and keeps what it holds', async () => {
      await declareMeshTopology(jsm, 'tiny', { workMaxMsgs: 2 });
      await js.publish('tiny.work.echo', '1');
      await js.publish('tiny.work.echo', '2');
      const refused = await js.publish('tiny.work.echo', '3').catch((err: unknown) => err);
      expect(isStreamFullError(refused)).toBe(true);
      const failure = failureOf(isStreamFullError(refused) ? new OverloadedError('work queue full', { cause: refused }) : refused);
      expect(failure.code).toBe(FailureCode.OVERLOADED);
      expect(failure.retryable).toBe(true);
      const state = (await jsm.streams.info('TINY_WORK')).state;
      expect([state.messages, state.first_seq, state.last_seq]).toEqual([2, 1, 2]);
    }, T);

    it('never drops queued work at a byte bound', async () => {
      // 100-byte payloads take ~140 bytes stored: on nats-server < 2.10.5 the third one would be accepted into a
      // 400-byte stream and message 1 silently dropped (nats-server#4771), so there max_bytes is not set at all.
      const report = await declareMeshTopology(jsm, 'small', { workMaxBytes: 400 });
      const outcomes: unknown[] = [];
      for (let i = 0; i < 5; i++) outcomes.push(await js.publish('small.work.echo', new Uint8Array(100)).catch((err: unknown) => err));
      const { config, state } = await jsm.streams.info('SMALL_WORK');
      const accepted = outcomes.filter((o) => !(o instanceof Error)).length;
      expect(outcomes.filter((o) => o instanceof Error).every(isStreamFullError)).toBe(true);
      expect([state.first_seq, state.messages]).toEqual([1, accepted]);
      if (refusesAtByteLimit(nc.info?.version)) {
        expect(config.max_bytes).toBe(400);
        expect(accepted).toBeLessThan(5);
      } else {
        expect(config.max_bytes).toBe(-1);
        expect(report.workStream.note).toMatch(/nats-server#4771/);
        expect(accepted).toBe(5);
      }
    }, T);

    it('refuses (OVERLOADED) rather than drops when the server storage itself is full', async () => {
      const cramped = await startNatsServer({ jetstream: { max_file_store: 64 * 1024 } });
      const c = await connect({ servers: cramped.url, ...cramped.login(Role.Admin) });
      try {
        const m = await jetstreamManager(c);
        await declareMeshTopology(m, 'mesh', { eventsMaxBytes: 16 * 1024, tasksMaxBytes: 4 * 1024, workMaxBytes: 16 * 1024, invocationsMaxBytes: 4 * 1024, deadLetterMaxBytes: 4 * 1024 });
        const client = jetstream(c);
        let refused: unknown;
        let accepted = 0;
        for (let i = 0; i < 200 && refused === undefined; i++) {
          await client.publish('mesh.work.echo', new Uint8Array(1_000)).then(() => accepted++, (err: unknown) => (refused = err));
        }
        expect(isStreamFullError(refused)).toBe(true);
        const { state } = await m.streams.info('MESH_WORK');
        expect([state.first_seq, state.messages]).toEqual([1, accepted]);
      } finally {
        await c.close();
        await cramped.stop();
      }
    }, T);

    it('refuses to lower max_msgs below what the queue holds (the server would drop the oldest)', async () => {
      await declareMeshTopology(jsm, 'shrink', { workMaxMsgs: 10 });
      for (let i = 0; i < 5; i++) await js.publish('shrink.work.echo', String(i));
      const shrinking = declareMeshTopology(jsm, 'shrink', { workMaxMsgs: 2 });
      await expect(shrinking).rejects.toThrow(TopologyConflictError);
      await expect(shrinking).rejects.toThrow(/lowering max_msgs of stream SHRINK_WORK to 2 would make nats-server drop queued messages \(it holds 5/);
      const { config, state } = await jsm.streams.info('SHRINK_WORK');
      expect([config.max_msgs, state.messages, state.first_seq]).toEqual([10, 5, 1]);
      expect((await declareMeshTopology(jsm, 'shrink', { workMaxMsgs: 6 })).workStream.outcome).toBe('updated');
    }, T);

    it('does not call a too-large message "full" (it would never fit: a bad request, not back-pressure)', async () => {
      await declareMeshTopology(jsm, 'sized', { workMaxMsgSize: 100 });
      const refused = await js.publish('sized.work.echo', new Uint8Array(200)).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(Error);
      expect(isStreamFullError(refused)).toBe(false);
      expect(isStreamFullError(new Error('maximum messages exceeded'))).toBe(false);
    }, T);
  });

  describe(ensureTaskConsumer.name, () => {
    beforeAll(async () => {
      await declareMeshTopology(jsm, 'mesh');
    }, T);

    it('creates the durable pull consumer work_<task> as the architecture table says', async () => {
      const declared = await ensureTaskConsumer(jsm, 'mesh', 'echo');
      expect(declared).toEqual({ kind: 'consumer', name: 'work_echo', outcome: 'created', changed: [] });
      const { config } = await jsm.consumers.info('MESH_WORK', 'work_echo');
      expect(config).toMatchObject({
        durable_name: 'work_echo',
        filter_subject: 'mesh.work.echo',
        ack_policy: 'explicit',
        ack_wait: nanos(DEFAULT_ACK_WAIT_MS),
        max_deliver: 5,
        max_ack_pending: 1000,
        deliver_policy: 'all',
      });
      expect(config.deliver_subject).toBeUndefined();
    }, T);

    it('is idempotent: unchanged, and the config is equal before and after', async () => {
      await ensureTaskConsumer(jsm, 'mesh', 'sleep');
      const before = (await jsm.consumers.info('MESH_WORK', 'work_sleep')).config;
      expect((await ensureTaskConsumer(jsm, 'mesh', 'sleep')).outcome).toBe('unchanged');
      const after = (await jsm.consumers.info('MESH_WORK', 'work_sleep')).config;
      expect(after).toEqual(before);
      expect(JSON.stringify(after)).toBe(JSON.stringify(before));
    }, T);

    it('updates ack_wait / max_deliver / max_ack_pending in place', async () => {
      await ensureTaskConsumer(jsm, 'mesh', 'fail');
      const declared = await ensureTaskConsumer(jsm, 'mesh', 'fail', { ackWaitMs: 5_000, maxDeliver: 2, maxAckPending: 10 });
      expect(declared).toMatchObject({ outcome: 'updated', changed: ['ack_wait', 'max_deliver', 'max_ack_pending'] });
      expect((await jsm.consumers.info('MESH_WORK', 'work_fail')).config).toMatchObject({ ack_wait: nanos(5_000), max_deliver: 2, max_ack_pending: 10 });
    }, T);

    it('converges when many workers of a task start together', async () => {
      const results = await Promise.all(Array.from({ length: 5 }, () => ensureTaskConsumer(jsm, 'mesh', 'burst')));
      expect(results.filter((d) => d.outcome === 'created').length).toBeGreaterThanOrEqual(1);
      expect(results.every((d) => d.outcome !== 'updated')).toBe(true);
    }, T);

    it('refuses, naming the culprit, when another consumer already takes the task subject (workqueue: one per subject)', async () => {
      await jsm.consumers.add('MESH_WORK', { durable_name: 'intruder', filter_subject: 'mesh.work.taken', ack_policy: 'explicit' });
      const ensuring = ensureTaskConsumer(jsm, 'mesh', 'taken');
      await expect(ensuring).rejects.toThrow(TopologyConflictError);
      await expect(ensuring).rejects.toThrow(/filtered consumer not unique on workqueue stream.*nats consumer ls MESH_WORK/);
    }, T);

    it('refuses a task name that cannot be a consumer name, and a missing stream', async () => {
      await expect(ensureTaskConsumer(jsm, 'mesh', 'a.b')).rejects.toThrow(/task/);
      await expect(ensureTaskConsumer(jsm, 'nowhere', 'echo')).rejects.toThrow(/stream NOWHERE_WORK does not exist/);
    }, T);
  });
});
