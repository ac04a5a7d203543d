/**
 * Declaring the topology: create what is missing, converge what differs in the fields taskmesh owns, refuse
 * (TopologyConflictError) what a server cannot change in place, and wait out a JetStream that does not answer.
 */
import {
  DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType,
  type ConsumerInfo, type JetStreamClient, type JetStreamManager, type StreamInfo,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { nanos } from '@nats-io/transport-node';
import { meshNames } from '@taskmesh/protocol';
import { TopologyConflictError } from '../errors.js';
import { retrying } from '../retrying.js';
import { CANCELLED_MAX_AGE_MS, DEFAULT_TASKS_MAX_BYTES, NO_BYTE_LIMIT_NOTE, type TopologyLimits, refusesAtByteLimit, resolveLimits } from './limits.js';
import { type InvocationBounds, type WantedConsumer, type WantedStream, deadLetterStreamConfig, eventStreamConfig, exhaustedConsumerConfig, exhaustedStreamConfig, invocationBoundsConfig, keyedConsumerConfig, recorderConsumerConfig, taskConsumerConfig, workStreamConfig } from './configs.js';

/** How long a declaration is retried while JetStream's API does not answer (see patiently). */
const DECLARE_PATIENCE_MS = 30_000;

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

/** Creates or converges the orchestrator's consumer of max-deliveries advisories. */
export async function ensureExhaustedConsumer(jsm: JetStreamManager, prefix: string): Promise<Declared> {
  return ensureConsumer(jsm, meshNames(prefix).exhaustedStream, exhaustedConsumerConfig(prefix));
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

/** Creates or converges the orchestrator's recorder consumer (idempotent, like ensureTaskConsumer). */
export async function ensureRecorderConsumer(jsm: JetStreamManager, prefix: string): Promise<Declared> {
  return ensureConsumer(jsm, meshNames(prefix).eventStream, recorderConsumerConfig(prefix));
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
function patiently<T>(declare: () => Promise<T>): Promise<T> {
  const unanswered = (err: unknown): boolean => (err as Error)?.name === 'TimeoutError' || (err instanceof JetStreamApiError && err.code === 503);
  return retrying(declare, { forMs: DECLARE_PATIENCE_MS, retryable: unanswered, firstPauseMs: 250, maxPauseMs: 2_000 });
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
