import { InvalidSubjectTokenError } from './errors.js';
import { TASK_NAME_PATTERN } from './limits.js';
import { Subjects } from './subjects.js';

// JetStream names derive from the subject prefix (`mesh` -> `MESH_WORK`, `KV_MESH_TASKS`...). Pure, so the topology
// (libs/nats/src/topology/, which declares these objects) and the client SDK (which opens the tasks bucket) agree.

/** JetStream names of one mesh (one subject prefix). */
export interface MeshNames {
  /** Work-queue stream, e.g. `MESH_WORK`. */
  workStream: string;
  /** Invocation event stream, e.g. `MESH_EVENTS`. */
  eventStream: string;
  /** KV bucket of offered tasks, e.g. `MESH_TASKS`. */
  tasksBucket: string;
  /** The stream behind the tasks bucket, e.g. `KV_MESH_TASKS`. */
  tasksBucketStream: string;
  /** KV bucket of invocation records, e.g. `MESH_INVOCATIONS`. */
  invocationsBucket: string;
  /** The stream behind it, e.g. `KV_MESH_INVOCATIONS`. */
  invocationsBucketStream: string;
  /** The orchestrator's durable consumer on the events stream. */
  recorderConsumer: string;
  /** KV bucket of cancelled invocation ids that every worker watches, e.g. `MESH_CANCELLED`. */
  cancelledBucket: string;
  cancelledBucketStream: string;
  /** KV bucket of concurrency claims (registration and running concurrency), e.g. `MESH_CLAIMS`. */
  claimsBucket: string;
  claimsBucketStream: string;
  /** Stream of dead letters, e.g. `MESH_DLQ`. */
  deadLetterStream: string;
  /** KV bucket of dispatches (scheduler), e.g. `MESH_DISPATCHES`. */
  dispatchesBucket: string;
  dispatchesBucketStream: string;
  /** KV bucket of leader leases, e.g. `MESH_LEASES`. */
  leasesBucket: string;
  leasesBucketStream: string;
  /** Stream keeping JetStream's max-deliveries advisories of the work stream, e.g. `MESH_EXHAUSTED`. */
  exhaustedStream: string;
  /** The orchestrator's durable consumer on it. */
  exhaustedConsumer: string;
  /** Durable pull consumer of a task's work, `work_<task>`. */
  taskConsumer(task: string): string;
  /** Durable pull consumer of key shard `shard`'s work (every task's), `keyed_<shard>`. */
  keyedConsumer(shard: number): string;
}

/** The JetStream names for `prefix` (`mesh` -> `MESH_WORK`; `a.b` -> `A_B_WORK`). */
export function meshNames(prefix: string): MeshNames {
  const subjects = new Subjects(prefix); // validates the prefix tokens
  // Stream and bucket names cannot contain dots; the prefix tokens are already free of `*`, `>` and spaces.
  const base = subjects.prefix.toUpperCase().replaceAll('.', '_');
  return {
    workStream: `${base}_WORK`,
    eventStream: `${base}_EVENTS`,
    tasksBucket: `${base}_TASKS`,
    tasksBucketStream: `KV_${base}_TASKS`,
    invocationsBucket: `${base}_INVOCATIONS`,
    invocationsBucketStream: `KV_${base}_INVOCATIONS`,
    recorderConsumer: 'orchestrator_recorder',
    cancelledBucket: `${base}_CANCELLED`,
    cancelledBucketStream: `KV_${base}_CANCELLED`,
    claimsBucket: `${base}_CLAIMS`,
    claimsBucketStream: `KV_${base}_CLAIMS`,
    deadLetterStream: `${base}_DLQ`,
    exhaustedStream: `${base}_EXHAUSTED`,
    dispatchesBucket: `${base}_DISPATCHES`,
    dispatchesBucketStream: `KV_${base}_DISPATCHES`,
    leasesBucket: `${base}_LEASES`,
    leasesBucketStream: `KV_${base}_LEASES`,
    exhaustedConsumer: 'orchestrator_exhausted',
    taskConsumer: (task) => `work_${assertTaskName(task)}`,
    keyedConsumer: (shard) => `keyed_${assertShard(shard)}`,
  };
}

function assertTaskName(task: string): string {
  if (typeof task !== 'string' || !TASK_NAME_PATTERN.test(task)) {
    throw new InvalidSubjectTokenError(task, 'task', `must match ${TASK_NAME_PATTERN}`);
  }
  return task;
}

function assertShard(shard: number): number {
  if (!(Number.isSafeInteger(shard) && shard >= 0)) throw new RangeError(`key shard must be an integer >= 0, got ${shard}`);
  return shard;
}
