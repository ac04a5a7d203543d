/** The topology's bounds: every default, and the checks on limits a process is configured with. */
import { DEFAULT_EXPIRES_AFTER_MS, DEFAULT_KEY_SHARDS, MAX_MESSAGE_BYTES } from '@taskmesh/protocol';

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
export const NO_BYTE_LIMIT_NOTE = 'max_bytes not set: this nats-server drops the oldest messages at a byte limit despite discard: new '
  + '(nats-server#4771, fixed in 2.10.5); bounded by max_msgs x max_msg_size and the server storage limit instead';
