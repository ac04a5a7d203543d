/** What the mesh wants of each stream and consumer: the fields taskmesh owns (and therefore compares and converges). */
import {
  AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType,
  type ConsumerConfig, type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { Subjects, meshNames } from '@taskmesh/protocol';
import { DEAD_LETTER_MAX_AGE_MS, EXHAUSTED_MAX_AGE_MS, type TopologyLimits, refusesAtByteLimit, resolveLimits } from './limits.js';

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

/** The stream fields taskmesh sets (and therefore compares). */
export type WantedStream = Pick<StreamConfig, 'name' | 'subjects' | 'retention' | 'discard' | 'storage' | 'description'> &
  Partial<Pick<StreamConfig, 'max_msgs' | 'max_bytes' | 'max_msg_size' | 'max_age' | 'duplicate_window' | 'max_msgs_per_subject' | 'num_replicas'>>;

/** The consumer fields taskmesh sets (and therefore compares). */
export type WantedConsumer = Pick<ConsumerConfig, 'durable_name' | 'description' | 'filter_subject' | 'ack_policy' | 'ack_wait' | 'max_deliver' | 'max_ack_pending' | 'deliver_policy'> & {
  durable_name: string;
};
