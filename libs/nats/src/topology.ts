/**
 * The JetStream topology of the mesh: THE ONLY place streams, consumers and buckets are declared
 * (docs/ARCHITECTURE.md, "JetStream topology"). Names derive from the subject prefix (`mesh` -> `MESH`):
 *
 *   MESH_WORK    stream  `mesh.work.>`               workqueue, discard new, bounded: a full queue refuses work
 *   work_<task>  consumer on MESH_WORK, `mesh.work.<task>`, durable pull, explicit ack, bounded redelivery
 *   keyed_<n>    consumer on MESH_WORK, `mesh.work.*.<n>`: key shard n, max_ack_pending 1 (one at a time, in order)
 *   MESH_EVENTS  stream  `mesh.events.invocation.>`  limits retention, bounded by age and bytes
 *   MESH_TASKS   KV bucket (stream KV_MESH_TASKS)     history 1: every task ever offered
 *   MESH_INVOCATIONS KV bucket (KV_MESH_INVOCATIONS) history 1: one record per invocation (orchestrator)
 *   MESH_CLAIMS  KV bucket (KV_MESH_CLAIMS)          history 1: concurrency claims (live registrations, running locks)
 *   MESH_DISPATCHES KV bucket (KV_MESH_DISPATCHES)   history 1: the scheduler's dispatches
 *   MESH_LEASES  KV bucket (KV_MESH_LEASES)          history 1: leader leases (the scheduler's)
 *   MESH_EXHAUSTED stream `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.MESH_WORK.*`: work that used up its deliveries
 *
 * Declaring is idempotent and convergent: the existing config is read, only the fields set here are compared,
 * and an update is sent only when one of them differs, so a second run changes nothing (not even byte-wise).
 * Settings a server cannot change in place (retention, storage, a consumer's filter/ack/deliver policy) raise
 * TopologyConflictError instead of looping or deleting data.
 *
 * Works on nats-server 2.9.10 (Debian): no 2.10+ field is set here. Two server behaviours shape the code:
 * - before 2.10.5, `discard: new` with `max_bytes` checks the payload size but enforces the stored size, so a
 *   nearly full stream accepts a message and then silently drops its OLDEST one (nats-server#4771, fixed by
 *   #4772 in 2.10.5). On those servers the discard-new streams get no `max_bytes`: they are bounded by
 *   `max_msgs` x `max_msg_size` and by the server's JetStream storage limit, which refuses (OVERLOADED) instead;
 * - lowering `max_msgs` / `max_bytes` below what a discard-new stream holds drops the oldest messages on update
 *   (nats-server#2589), so such an update is refused here.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { nanos } from '@nats-io/transport-node';
import { DEFAULT_EXPIRES_AFTER_MS, DEFAULT_KEY_SHARDS, MAX_MESSAGE_BYTES, Subjects, meshNames } from '@taskmesh/protocol';
import { TopologyConflictError } from './errors.js';

/**
 * Redelivery wait of un-acked work; workers send in-progress acks every third of it while a task runs. The worker
 * expiry, as the worker's configuration defaults it (MESH_ACK_WAIT_MS): a lost worker's work restarts elsewhere
 * within about the period after which the worker is declared expired.
 */
export const DEFAULT_ACK_WAIT_MS = DEFAULT_EXPIRES_AFTER_MS;
/** Deliveries of one work message before it counts as poison (dead-lettered by the orchestrator). */
export const DEFAULT_MAX_DELIVER = 5;
/** Un-acked messages per task consumer: JetStream's default, and the bound on work held by all workers of a task. */
export const DEFAULT_MAX_ACK_PENDING = 1_000;
/** Work messages queued at most: beyond it callers get OVERLOADED instead of an ever longer wait. */
export const DEFAULT_WORK_MAX_MSGS = 100_000;
/** Bytes queued at most (1 GiB) in the work stream. */
export const DEFAULT_WORK_MAX_BYTES = 1_073_741_824;
/** Largest work message: the contract's largest body (1 MiB). */
export const DEFAULT_WORK_MAX_MSG_SIZE = MAX_MESSAGE_BYTES;
/** `Nats-Msg-Id` dedup window: JetStream's default 2 min; lasting dedup is the orchestrator's job. */
export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;
/** Event history kept (24 h): long enough for the orchestrator to catch up after an outage. */
export const DEFAULT_EVENTS_MAX_AGE_MS = 86_400_000;
/** Bytes of event history kept at most (1 GiB); the oldest events go first. */
export const DEFAULT_EVENTS_MAX_BYTES = 1_073_741_824;
/** Bytes of the tasks bucket (64 MiB): one small entry per task name. */
export const DEFAULT_TASKS_MAX_BYTES = 67_108_864;
/** How long a declaration is retried while JetStream's API does not answer (see patiently). */
const DECLARE_PATIENCE_MS = 30_000;
/** Invocation records: 1 GiB (records are small; final ones are purged by age). */
export const DEFAULT_INVOCATIONS_MAX_BYTES = 1_073_741_824;
/** Dead letters are kept 14 days (1 GiB at most by default): long enough to look at and replay by hand. */
export const DEAD_LETTER_MAX_AGE_MS = 14 * 86_400_000;
export const DEAD_LETTER_MAX_BYTES = 1_073_741_824;

/** Max-deliveries advisories are kept 7 days: an orchestrator down that long still settles the work they name. */
export const EXHAUSTED_MAX_AGE_MS = 7 * 86_400_000;

/** Cancellations are kept 25 h: longer than any queued work can wait (timeoutMs is at most 24 h). */
export const CANCELLED_MAX_AGE_MS = 25 * 3_600_000;

/** The bounds of the topology. Every field has a DEFAULT_* above. */
export interface TopologyLimits {
  ackWaitMs: number;
  maxDeliver: number;
  maxAckPending: number;
  workMaxMsgs: number;
  workMaxBytes: number;
  workMaxMsgSize: number;
  duplicateWindowMs: number;
  eventsMaxAgeMs: number;
  eventsMaxBytes: number;
  tasksMaxBytes: number;
  invocationsMaxBytes: number;
  deadLetterMaxBytes: number;
  keyShards: number;
  /** Copies of every stream and bucket in a JetStream cluster (MESH_REPLICAS): 1 on one server, 3 on three. */
  replicas: number;
}

/** The limits used when none are given. */
export const DEFAULT_TOPOLOGY_LIMITS: Readonly<TopologyLimits> = Object.freeze({
  ackWaitMs: DEFAULT_ACK_WAIT_MS,
  maxDeliver: DEFAULT_MAX_DELIVER,
  maxAckPending: DEFAULT_MAX_ACK_PENDING,
  workMaxMsgs: DEFAULT_WORK_MAX_MSGS,
  workMaxBytes: DEFAULT_WORK_MAX_BYTES,
  workMaxMsgSize: DEFAULT_WORK_MAX_MSG_SIZE,
  duplicateWindowMs: DEFAULT_DUPLICATE_WINDOW_MS,
  eventsMaxAgeMs: DEFAULT_EVENTS_MAX_AGE_MS,
  eventsMaxBytes: DEFAULT_EVENTS_MAX_BYTES,
  tasksMaxBytes: DEFAULT_TASKS_MAX_BYTES,
  invocationsMaxBytes: DEFAULT_INVOCATIONS_MAX_BYTES,
  deadLetterMaxBytes: DEAD_LETTER_MAX_BYTES,
  keyShards: DEFAULT_KEY_SHARDS,
  replicas: 1,
});

/** What declaring one object did. */
export type DeclareOutcome = 'created' | 'updated' | 'unchanged';

/** One declared stream, consumer or bucket, and which of our fields an update changed. */
export interface Declared {
  kind: 'stream' | 'consumer' | 'bucket';
  name: string;
  outcome: DeclareOutcome;
  /** The fields that differed (empty unless `outcome` is `updated`). */
  changed: string[];
  /** Why a setting deviates from the configured limits on this server (operators should read it). */
  note?: string;
}

/** What `declareMeshTopology` did to each object. */
export interface TopologyReport {
  workStream: Declared;
  eventStream: Declared;
  tasksBucket: Declared;
  invocationsBucket: Declared;
  cancelledBucket: Declared;
  claimsBucket: Declared;
  deadLetterStream: Declared;
  exhaustedStream: Declared;
  dispatchesBucket: Declared;
  leasesBucket: Declared;
}

/** Fills the limits not given with the defaults and checks them (positive integers). */
export function resolveLimits(limits: Partial<TopologyLimits> = {}): TopologyLimits {
  const resolved: TopologyLimits = { ...DEFAULT_TOPOLOGY_LIMITS };
  for (const key of Object.keys(DEFAULT_TOPOLOGY_LIMITS) as (keyof TopologyLimits)[]) {
    const value = limits[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`topology limit ${key} must be a positive integer, got ${value}`);
    resolved[key] = value;
  }
  return resolved;
}

/**
 * Whether `discard: new` + `max_bytes` refuses rather than silently drops on nats-server `version`
 * (true from 2.10.5 on; false for an older or unknown version).
 */
export function refusesAtByteLimit(version: string | undefined): boolean {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return false;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return major > 2 || (major === 2 && (minor > 10 || (minor === 10 && patch >= 5)));
}

/** What a discard-new stream gets instead of `max_bytes` on a server that would drop at the byte limit. */
const NO_BYTE_LIMIT_NOTE = 'max_bytes not set: this nats-server drops the oldest messages at a byte limit despite discard: new '
  + '(nats-server#4771, fixed in 2.10.5); bounded by max_msgs x max_msg_size and the server storage limit instead';

/**
 * The work stream's config: the fields taskmesh owns (anything else on the stream is left alone).
 * `serverVersion` decides whether `max_bytes` can be set safely (see the header).
 */
export function workStreamConfig(prefix: string, limits: Partial<TopologyLimits> = {}, serverVersion?: string): WantedStream {
  const l = resolveLimits(limits);
  return {
    name: meshNames(prefix).workStream,
    description: 'taskmesh work queue: one message per accepted durable invocation, removed when a worker acks it',
    subjects: [new Subjects(prefix).workAll()],
    retention: RetentionPolicy.Workqueue,
    // discard new: a full queue refuses new work (OVERLOADED) instead of silently dropping queued tasks.
    discard: DiscardPolicy.New,
    storage: StorageType.File,
    num_replicas: l.replicas,
    max_msgs: l.workMaxMsgs,
    max_bytes: refusesAtByteLimit(serverVersion) ? l.workMaxBytes : -1,
    max_msg_size: l.workMaxMsgSize,
    duplicate_window: nanos(l.duplicateWindowMs),
  };
}

/** The dead-letter stream: copies of work that was never run (invalid) or that exhausted its attempts. */
export function deadLetterStreamConfig(prefix: string, limits: Partial<TopologyLimits> = {}): WantedStream {
  const l = resolveLimits(limits);
  return {
    name: meshNames(prefix).deadLetterStream,
    description: 'taskmesh dead letters: copies of invalid work and work that exhausted its attempts, with reason headers',
    subjects: [new Subjects(prefix).deadLettersAll()],
    retention: RetentionPolicy.Limits,
    // discard old: past its bounds, the oldest dead letters go; a new one is never refused.
    discard: DiscardPolicy.Old,
    storage: StorageType.File,
    num_replicas: l.replicas,
    max_age: nanos(DEAD_LETTER_MAX_AGE_MS),
    max_bytes: l.deadLetterMaxBytes,
  };
}

/**
 * JetStream publishes an advisory when a work message has been delivered `max_deliver` times without an ack (its
 * workers were lost each time, or it was handed back each time); the message then stays in the work queue, never
 * delivered again. This stream keeps those advisories so the orchestrator settles every such message, even one
 * exhausted while no orchestrator was running.
 */
export function exhaustedStreamConfig(prefix: string, limits: Partial<TopologyLimits> = {}): WantedStream {
  const names = meshNames(prefix);
  const l = resolveLimits(limits);
  return {
    name: names.exhaustedStream,
    description: 'taskmesh: JetStream max-deliveries advisories of the work stream (work the orchestrator must dead-letter)',
    subjects: [`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${names.workStream}.*`],
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    storage: StorageType.File,
    num_replicas: l.replicas,
    max_age: nanos(EXHAUSTED_MAX_AGE_MS),
    // Advisories are small: the tasks bucket's bound is plenty.
    max_bytes: l.tasksMaxBytes,
  };
}

/** The orchestrator's consumer of max-deliveries advisories. */
export function exhaustedConsumerConfig(prefix: string): WantedConsumer {
  const names = meshNames(prefix);
  return {
    durable_name: names.exhaustedConsumer,
    description: 'taskmesh orchestrator: dead-letters and fails work that used up its deliveries',
    filter_subject: `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${names.workStream}.*`,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(30_000),
    max_deliver: 20,
    max_ack_pending: 100,
    deliver_policy: DeliverPolicy.All,
  };
}

/** Creates or converges the orchestrator's consumer of max-deliveries advisories. */
export async function ensureExhaustedConsumer(jsm: JetStreamManager, prefix: string): Promise<Declared> {
  return ensureConsumer(jsm, meshNames(prefix).exhaustedStream, exhaustedConsumerConfig(prefix));
}

/** The event stream's config (fields taskmesh owns). */
export function eventStreamConfig(prefix: string, limits: Partial<TopologyLimits> = {}): WantedStream {
  const l = resolveLimits(limits);
  return {
    name: meshNames(prefix).eventStream,
    description: 'taskmesh invocation events: every state change and progress event, consumed by the orchestrator',
    subjects: [new Subjects(prefix).invocationEventsAll()],
    retention: RetentionPolicy.Limits,
    // discard old: history, not work; under pressure the oldest events go, a worker's report never bounces.
    discard: DiscardPolicy.Old,
    storage: StorageType.File,
    num_replicas: l.replicas,
    max_age: nanos(l.eventsMaxAgeMs),
    max_bytes: l.eventsMaxBytes,
  };
}

/** The durable pull consumer of one task's work (fields taskmesh owns). */
export function taskConsumerConfig(prefix: string, task: string, limits: Partial<TopologyLimits> = {}): WantedConsumer {
  const l = resolveLimits(limits);
  const name = meshNames(prefix).taskConsumer(task);
  return {
    durable_name: name,
    description: `taskmesh workers of task ${task}`,
    filter_subject: new Subjects(prefix).work(task),
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(l.ackWaitMs),
    max_deliver: l.maxDeliver,
    max_ack_pending: l.maxAckPending,
    deliver_policy: DeliverPolicy.All,
  };
}

/**
 * The durable pull consumer of one key shard: the keyed work of every task whose key falls in it. JetStream hands
 * out one message of it at a time (`max_ack_pending` 1), in stream order, and a message that is redelivered (its
 * worker was lost) or nak'd with a delay (a retry) stays pending and keeps the shard's next message back: that is
 * what runs one key's invocations one at a time, in acceptance order, whichever workers pull
 * (test/integration/keyed-shard.int.ts pins it on the server).
 */
export function keyedConsumerConfig(prefix: string, shard: number, limits: Partial<TopologyLimits> = {}): WantedConsumer {
  const l = resolveLimits(limits);
  return {
    durable_name: meshNames(prefix).keyedConsumer(shard),
    description: `taskmesh workers of key shard ${shard}: one message at a time, in order`,
    // `<p>.work.*.<n>` does not overlap a task consumer's `<p>.work.<task>`, as a work-queue stream requires.
    filter_subject: new Subjects(prefix).keyedWorkShard(shard),
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(l.ackWaitMs),
    max_deliver: l.maxDeliver,
    max_ack_pending: 1,
    deliver_policy: DeliverPolicy.All,
  };
}

/** Creates or converges the consumer of every key shard, `keyed_0` .. `keyed_<keyShards - 1>` (idempotent). */
export async function ensureKeyedConsumers(jsm: JetStreamManager, prefix: string, limits: Partial<TopologyLimits> = {}): Promise<Declared[]> {
  const l = resolveLimits(limits);
  const declared: Declared[] = [];
  for (let shard = 0; shard < l.keyShards; shard++) declared.push(await ensureConsumer(jsm, meshNames(prefix).workStream, keyedConsumerConfig(prefix, shard, l)));
  return declared;
}

/**
 * Creates or converges the mesh's streams and tasks bucket. Safe to run from every process at every boot,
 * concurrently: the second run reports everything `unchanged` and sends no update.
 */
export async function declareMeshTopology(jsm: JetStreamManager, prefix: string, limits: Partial<TopologyLimits> = {}): Promise<TopologyReport> {
  const resolved = resolveLimits(limits);
  const version = serverVersionOf(jsm);
  const note = refusesAtByteLimit(version) ? undefined : NO_BYTE_LIMIT_NOTE;
  const workStream = withNote(await declareStream(jsm, workStreamConfig(prefix, resolved, version)), note);
  const eventStream = await declareStream(jsm, eventStreamConfig(prefix, resolved));
  const names = meshNames(prefix);
  const tasksBucket = withNote(await declareBucket(jsm, {
    bucket: names.tasksBucket, stream: names.tasksBucketStream, maxBytes: resolved.tasksMaxBytes, replicas: resolved.replicas,
    description: 'taskmesh tasks: every task a worker has ever offered (so UNKNOWN_TASK means never offered)',
  }, version), note);
  const invocationsBucket = withNote(await declareBucket(jsm, {
    bucket: names.invocationsBucket, stream: names.invocationsBucketStream, maxBytes: resolved.invocationsMaxBytes, replicas: resolved.replicas,
    description: 'taskmesh invocations: one record per invocation id (state, attempts, outcome), written by router and orchestrator',
    // Its bounds are the orchestrator's (applyInvocationBounds): other apps create it but leave them as they are.
    boundsOwnedElsewhere: true,
  }, version), note);
  const cancelledBucket = withNote(await declareBucket(jsm, {
    bucket: names.cancelledBucket, stream: names.cancelledBucketStream, maxBytes: DEFAULT_TASKS_MAX_BYTES, replicas: resolved.replicas,
    // Queued work never outlives its deadline (at most 24 h), so a cancellation need not either.
    maxAgeMs: CANCELLED_MAX_AGE_MS,
    description: 'taskmesh cancellations: ids cancelled before or while running; every worker watches this',
  }, version), note);
  const claimsBucket = withNote(await declareBucket(jsm, {
    bucket: names.claimsBucket, stream: names.claimsBucketStream, maxBytes: DEFAULT_TASKS_MAX_BYTES, replicas: resolved.replicas,
    // No max age: a claim lasts as long as its invocation; released when it ends, taken over when found stale.
    description: 'taskmesh concurrency claims: the live invocation per registration key, the running one per running key',
  }, version), note);
  const deadLetterStream = await declareStream(jsm, deadLetterStreamConfig(prefix, resolved));
  const exhaustedStream = await declareStream(jsm, exhaustedStreamConfig(prefix, resolved));
  const dispatchesBucket = withNote(await declareBucket(jsm, {
    bucket: names.dispatchesBucket, stream: names.dispatchesBucketStream, maxBytes: DEFAULT_TASKS_MAX_BYTES, replicas: resolved.replicas,
    description: 'taskmesh dispatches: scheduled tasks (start, duration, recurrence), served and fired by the scheduler',
  }, version), note);
  const leasesBucket = withNote(await declareBucket(jsm, {
    bucket: names.leasesBucket, stream: names.leasesBucketStream, maxBytes: DEFAULT_TASKS_MAX_BYTES, replicas: resolved.replicas,
    description: 'taskmesh leader leases: which replica leads (the scheduler fires only on its leader)',
  }, version), note);
  return {
    workStream, eventStream, tasksBucket, invocationsBucket, cancelledBucket, claimsBucket, deadLetterStream, exhaustedStream, dispatchesBucket, leasesBucket,
  };
}

/**
 * Creates or converges the durable pull consumer `work_<task>` (called by each worker that offers the task).
 * Every worker of the task shares it, which is what load-balances them.
 */
export async function ensureTaskConsumer(jsm: JetStreamManager, prefix: string, task: string, limits: Partial<TopologyLimits> = {}): Promise<Declared> {
  return ensureConsumer(jsm, meshNames(prefix).workStream, taskConsumerConfig(prefix, task, limits));
}

/** The orchestrator's durable consumer on the events stream: every reported state change, in order. */
export function recorderConsumerConfig(prefix: string): WantedConsumer {
  return {
    durable_name: meshNames(prefix).recorderConsumer,
    description: 'taskmesh orchestrator: applies reported state changes to the invocation records',
    filter_subject: new Subjects(prefix).invocationEventsAll(),
    ack_policy: AckPolicy.Explicit,
    // Applying an event twice is harmless (the repeat is a no-op), so events held by a dead orchestrator
    // replica come back quickly rather than after the default 30 s.
    ack_wait: nanos(5_000),
    // A record may not exist yet when its first event arrives (naked with a delay); after that, it is counted lost.
    max_deliver: 20,
    max_ack_pending: 1000,
    deliver_policy: DeliverPolicy.All,
  };
}

/** Creates or converges the orchestrator's recorder consumer (idempotent, like ensureTaskConsumer). */
export async function ensureRecorderConsumer(jsm: JetStreamManager, prefix: string): Promise<Declared> {
  return ensureConsumer(jsm, meshNames(prefix).eventStream, recorderConsumerConfig(prefix));
}

/** The invocations bucket's hard bounds, as the orchestrator configures them (MESH_INVOCATIONS_MAX_RECORDS, _BYTES). */
export interface InvocationBounds {
  maxRecords: number;
  maxBytes: number;
}

/**
 * The stream fields of the invocations bucket's hard bounds on nats-server `serverVersion`. The bucket is
 * `discard: new` (Kvm's choice), so at `max_msgs` the server refuses a NEW key (10077, which the router answers
 * OVERLOADED) and still accepts rewrites of existing keys (a live record always reaches its outcome; pinned on
 * 2.9.10 by test/integration/invocation-retention.int.ts). A byte bound is set only where discard: new refuses at
 * it (2.10.5 on): before that the server would drop the OLDEST records, live ones included (nats-server#4771).
 */
export function invocationBoundsConfig(bounds: InvocationBounds, serverVersion: string | undefined): Pick<WantedStream, 'max_msgs' | 'max_bytes'> {
  return { max_msgs: bounds.maxRecords, max_bytes: refusesAtByteLimit(serverVersion) ? bounds.maxBytes : -1 };
}

/**
 * Converges the invocations bucket's hard bounds (the orchestrator's, at boot and after sweeps). `deferred` when
 * lowering a bound below what the bucket holds: nats-server would drop the oldest records to fit (nats-server#2589),
 * so the janitor trims first and this is tried again.
 */
export async function applyInvocationBounds(jsm: JetStreamManager, prefix: string, bounds: InvocationBounds): Promise<DeclareOutcome | 'deferred'> {
  const stream = meshNames(prefix).invocationsBucketStream;
  const info = await jsm.streams.info(stream);
  const wanted = invocationBoundsConfig(bounds, serverVersionOf(jsm));
  const changed = differingFields(wanted, info.config);
  if (changed.length === 0) return 'unchanged';
  const held = { max_msgs: info.state.messages, max_bytes: info.state.bytes };
  for (const field of ['max_msgs', 'max_bytes'] as const) {
    const limit = wanted[field] ?? -1;
    if (changed.includes(field) && limit > 0 && limit < held[field]) return 'deferred';
  }
  try {
    await jsm.streams.update(stream, pick(wanted, changed));
  } catch (err) {
    throw streamConflict(stream, err, changed);
  }
  return 'updated';
}

function ensureConsumer(jsm: JetStreamManager, stream: string, wanted: WantedConsumer): Promise<Declared> {
  return patiently(() => ensureConsumerNow(jsm, stream, wanted));
}

async function ensureConsumerNow(jsm: JetStreamManager, stream: string, wanted: WantedConsumer): Promise<Declared> {
  const name = wanted.durable_name;
  const immutable: (keyof WantedConsumer)[] = ['filter_subject', 'ack_policy', 'deliver_policy'];
  // Two attempts: a concurrent creator may win the race between our "not found" and our create.
  for (let attempt = 1; ; attempt++) {
    const existing = await consumerInfo(jsm, stream, name);
    if (existing === undefined) {
      try {
        await jsm.consumers.add(stream, wanted);
        return { kind: 'consumer', name, outcome: 'created', changed: [] };
      } catch (err) {
        if (attempt < 2 && isAlreadyExists(err)) continue;
        throw consumerConflict(stream, name, err);
      }
    }
    const changed = differingFields(wanted, existing.config);
    if (changed.length === 0) return { kind: 'consumer', name, outcome: 'unchanged', changed };
    const fixed = changed.filter((f) => immutable.includes(f as keyof WantedConsumer));
    if (fixed.length > 0) {
      throw new TopologyConflictError(
        `consumer ${stream}/${name} exists with ${describe(fixed, existing.config, wanted)}, which taskmesh does not change in place: `
          + `delete it (\`nats consumer rm ${stream} ${name}\`; its workers recreate it) or use another MESH_PREFIX`,
      );
    }
    try {
      await jsm.consumers.update(stream, name, pick(wanted, changed));
    } catch (err) {
      throw consumerConflict(stream, name, err, changed);
    }
    return { kind: 'consumer', name, outcome: 'updated', changed };
  }
}

/** The stream fields taskmesh sets (and therefore compares). */
export type WantedStream = Pick<StreamConfig, 'name' | 'subjects' | 'retention' | 'discard' | 'storage' | 'description'> &
  Partial<Pick<StreamConfig, 'max_msgs' | 'max_bytes' | 'max_msg_size' | 'max_age' | 'duplicate_window' | 'max_msgs_per_subject' | 'num_replicas'>>;

/** The consumer fields taskmesh sets (and therefore compares). */
export type WantedConsumer = Pick<ConsumerConfig, 'durable_name' | 'description' | 'filter_subject' | 'ack_policy' | 'ack_wait' | 'max_deliver' | 'max_ack_pending' | 'deliver_policy'> & {
  durable_name: string;
};

/**
 * Stream settings never changed in place: nats-server refuses to change retention and storage, and different
 * subjects mean the name is taken by something else (e.g. prefixes `a.b` and `a_b` both map to `A_B_WORK`).
 */
const IMMUTABLE_STREAM_FIELDS: readonly string[] = ['retention', 'storage', 'subjects'];

function declareStream(jsm: JetStreamManager, wanted: WantedStream): Promise<Declared> {
  return patiently(() => declareStreamNow(jsm, wanted));
}

async function declareStreamNow(jsm: JetStreamManager, wanted: WantedStream): Promise<Declared> {
  const name = wanted.name;
  for (let attempt = 1; ; attempt++) {
    const existing = await streamInfo(jsm, name);
    if (existing === undefined) {
      try {
        await jsm.streams.add(wanted);
        return { kind: 'stream', name, outcome: 'created', changed: [] };
      } catch (err) {
        // Lost a creation race against another process with other limits: converge on the next turn.
        if (attempt < 2 && (isAlreadyExists(err) || lostCreationRace(err))) continue;
        throw streamConflict(name, err);
      }
    }
    return converge(jsm, 'stream', name, wanted, existing);
  }
}

/** A bucket is created through Kvm (so it is exactly what KV clients expect), then compared like a stream. */
type BucketSpec = { bucket: string; stream: string; maxBytes: number; description: string; replicas: number; maxAgeMs?: number; boundsOwnedElsewhere?: boolean };

function declareBucket(jsm: JetStreamManager, spec: BucketSpec, serverVersion: string | undefined): Promise<Declared> {
  return patiently(() => declareBucketNow(jsm, spec, serverVersion));
}

async function declareBucketNow(jsm: JetStreamManager, spec: BucketSpec, serverVersion: string | undefined): Promise<Declared> {
  const maxBytes = refusesAtByteLimit(serverVersion) ? spec.maxBytes : -1;
  const wanted = {
    name: spec.stream,
    description: spec.description,
    subjects: [`$KV.${spec.bucket}.>`],
    retention: RetentionPolicy.Limits,
    // No `discard`: that is Kvm's choice (new on servers >= 2.7.2).
    storage: StorageType.File,
    max_msgs_per_subject: 1, // history 1
    num_replicas: spec.replicas,
    // Undefined fields are not compared (differingFields), so bounds owned elsewhere are set only at creation.
    max_bytes: spec.boundsOwnedElsewhere === true ? undefined : maxBytes,
    ...(spec.maxAgeMs === undefined ? {} : { max_age: nanos(spec.maxAgeMs) }),
  } satisfies Partial<WantedStream>;
  for (let attempt = 1; ; attempt++) {
    const existing = await streamInfo(jsm, wanted.name);
    if (existing !== undefined) return converge(jsm, 'bucket', spec.bucket, wanted, existing, wanted.name);
    try {
      await new Kvm(jetstreamOf(jsm)).create(spec.bucket, {
        history: 1, max_bytes: maxBytes, storage: StorageType.File, description: wanted.description, replicas: spec.replicas,
        ...(spec.maxAgeMs === undefined ? {} : { ttl: spec.maxAgeMs }),
      });
      return { kind: 'bucket', name: spec.bucket, outcome: 'created', changed: [] };
    } catch (err) {
      // Two attempts, as for streams: another process may have created it with other limits meanwhile.
      if (attempt < 2 && (isAlreadyExists(err) || lostCreationRace(err))) continue;
      throw streamConflict(wanted.name, err);
    }
  }
}

/** Updates the stream when one of our fields differs; refuses (clearly) when the difference cannot be applied. */
async function converge(
  jsm: JetStreamManager,
  kind: 'stream' | 'bucket',
  name: string,
  wanted: Partial<WantedStream>,
  info: StreamInfo,
  streamName: string = name,
): Promise<Declared> {
  const existing = info.config;
  const changed = differingFields(wanted, existing);
  if (changed.length === 0) return { kind, name, outcome: 'unchanged', changed };
  const fixed = changed.filter((f) => IMMUTABLE_STREAM_FIELDS.includes(f));
  if (fixed.length > 0) {
    throw new TopologyConflictError(
      `${kind} ${name} exists with ${describe(fixed, existing, wanted)}, which cannot be changed on an existing stream: `
        + `delete it (\`nats stream rm ${streamName}\`, losing its messages) or use another MESH_PREFIX`,
    );
  }
  if (existing.discard === DiscardPolicy.New) {
    const held = { max_msgs: info.state.messages, max_bytes: info.state.bytes };
    for (const field of ['max_msgs', 'max_bytes'] as const) {
      const limit = wanted[field];
      if (changed.includes(field) && limit !== undefined && limit > 0 && limit < held[field]) {
        throw new TopologyConflictError(
          `lowering ${field} of ${kind} ${name} to ${limit} would make nats-server drop queued messages (it holds ${held[field]}, `
            + 'and an update discards the oldest even with discard: new): let it drain below the new limit first, or keep the old limit',
        );
      }
    }
  }
  try {
    await jsm.streams.update(streamName, pick(wanted, changed));
  } catch (err) {
    throw streamConflict(streamName, err, changed);
  }
  return { kind, name, outcome: 'updated', changed };
}

/** Names of the fields of `wanted` whose value differs from `existing` (arrays compared element by element). */
function differingFields<W extends object>(wanted: W, existing: object): string[] {
  const have = existing as Record<string, unknown>;
  return Object.entries(wanted)
    .filter(([key, value]) => value !== undefined && !sameValue(value, have[key]))
    .map(([key]) => key);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  }
  // The server omits an empty description; treat "" and absent alike.
  if ((a === '' && b === undefined) || (a === undefined && b === '')) return true;
  return a === b;
}

function pick<W extends object>(wanted: W, fields: string[]): Partial<W> {
  const out: Partial<W> = {};
  for (const f of fields) (out as Record<string, unknown>)[f] = (wanted as Record<string, unknown>)[f];
  return out;
}

function describe(fields: string[], existing: object, wanted: object): string {
  const have = existing as Record<string, unknown>;
  const want = wanted as Record<string, unknown>;
  return fields.map((f) => `${f}=${JSON.stringify(have[f])} (taskmesh needs ${JSON.stringify(want[f])})`).join(', ');
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JS_STREAM_NOT_FOUND) return undefined;
    throw err;
  }
}

async function consumerInfo(jsm: JetStreamManager, stream: string, name: string): Promise<ConsumerInfo | undefined> {
  try {
    return await jsm.consumers.info(stream, name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JS_CONSUMER_NOT_FOUND) return undefined;
    if (err instanceof JetStreamApiError && err.code === JS_STREAM_NOT_FOUND) {
      throw new TopologyConflictError(`stream ${stream} does not exist: declare the mesh topology (declareMeshTopology) before task consumers`, { cause: err });
    }
    throw err;
  }
}

// JetStream API error codes (nats-server errors.json) that this file reacts to.
const JS_CONSUMER_NOT_FOUND = 10014;
const JS_STREAM_NOT_FOUND = 10059;
const JS_STREAM_NAME_IN_USE = 10058;
const JS_CONSUMER_NAME_EXISTS = 10013;
const JS_CONSUMER_ALREADY_EXISTS = 10148;
const JS_STREAM_SUBJECT_OVERLAP = 10065;
const JS_WORKQUEUE_UNFILTERED_NOT_UNIQUE = 10099;
const JS_WORKQUEUE_FILTER_NOT_UNIQUE = 10100;

/**
 * Runs a declaration (idempotent: it converges) again while JetStream's API does not answer in time: a cluster
 * whose nodes all start at once, or that is electing a leader, can take longer than one request's timeout to
 * create a replicated stream, and an app that exits on the first timeout would not come up. Gives up after
 * DECLARE_PATIENCE_MS with the last error.
 */
async function patiently<T>(declare: () => Promise<T>): Promise<T> {
  const giveUpAt = Date.now() + DECLARE_PATIENCE_MS;
  for (let pause = 250; ; pause = Math.min(2 * pause, 2_000)) {
    try {
      return await declare();
    } catch (err) {
      const unanswered = (err as Error)?.name === 'TimeoutError' || (err instanceof JetStreamApiError && err.code === 503);
      if (!unanswered || Date.now() + pause >= giveUpAt) throw err;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

/**
 * nats-server 2.9 answers a creation that races another one of the same stream with "subjects overlap" (10065)
 * rather than "name in use": look again once (a real squatter of the subjects fails the second attempt too).
 */
function lostCreationRace(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JS_STREAM_SUBJECT_OVERLAP;
}

function isAlreadyExists(err: unknown): boolean {
  return err instanceof JetStreamApiError && [JS_STREAM_NAME_IN_USE, JS_CONSUMER_NAME_EXISTS, JS_CONSUMER_ALREADY_EXISTS].includes(err.code);
}

function streamConflict(name: string, err: unknown, changed: string[] = []): Error {
  if (!(err instanceof JetStreamApiError)) return err instanceof Error ? err : new Error(String(err));
  const what = changed.length > 0 ? `updating ${changed.join(', ')} of stream ${name}` : `creating stream ${name}`;
  const hint = err.code === JS_STREAM_SUBJECT_OVERLAP
    ? ': another stream already captures these subjects (`nats stream ls`); remove it or use another MESH_PREFIX'
    : '';
  return new TopologyConflictError(`${what} failed: ${err.message} (JetStream error ${err.code})${hint}`, { cause: err });
}

function consumerConflict(stream: string, name: string, err: unknown, changed: string[] = []): Error {
  if (!(err instanceof JetStreamApiError)) return err instanceof Error ? err : new Error(String(err));
  const what = changed.length > 0 ? `updating ${changed.join(', ')} of consumer ${stream}/${name}` : `creating consumer ${stream}/${name}`;
  const hint = err.code === JS_WORKQUEUE_FILTER_NOT_UNIQUE || err.code === JS_WORKQUEUE_UNFILTERED_NOT_UNIQUE
    ? `: a work-queue stream allows one consumer per subject, and another consumer already covers this task's subject `
      + `(\`nats consumer ls ${stream}\`); remove it`
    : '';
  return new TopologyConflictError(`${what} failed: ${err.message} (JetStream error ${err.code})${hint}`, { cause: err });
}

function withNote(declared: Declared, note: string | undefined): Declared {
  return note === undefined ? declared : { ...declared, note };
}

/**
 * The server version behind `jsm`. nats.js v3's manager carries its connection as a public `nc` field that the
 * JetStreamManager type does not declare; read it structurally (undefined counts as an old server: safe side).
 */
function serverVersionOf(jsm: JetStreamManager): string | undefined {
  return (jsm as Partial<Record<'nc', { info?: { version?: string } }>>).nc?.info?.version;
}

/** Kvm wants a JetStream client; the manager can hand out one with the same options. */
function jetstreamOf(jsm: JetStreamManager): JetStreamClient {
  return jsm.jetstream();
}
