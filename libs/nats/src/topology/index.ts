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
export {
  DEFAULT_ACK_WAIT_MS, DEFAULT_MAX_DELIVER, DEFAULT_MAX_ACK_PENDING, DEFAULT_WORK_MAX_MSGS, DEFAULT_WORK_MAX_BYTES, DEFAULT_WORK_MAX_MSG_SIZE, DEFAULT_DUPLICATE_WINDOW_MS, DEFAULT_EVENTS_MAX_AGE_MS, DEFAULT_EVENTS_MAX_BYTES, DEFAULT_TASKS_MAX_BYTES, DEFAULT_INVOCATIONS_MAX_BYTES, DEAD_LETTER_MAX_AGE_MS, DEAD_LETTER_MAX_BYTES, EXHAUSTED_MAX_AGE_MS, CANCELLED_MAX_AGE_MS, type TopologyLimits, DEFAULT_TOPOLOGY_LIMITS, resolveLimits, refusesAtByteLimit,
} from './limits.js';
export {
  workStreamConfig, deadLetterStreamConfig, exhaustedStreamConfig, exhaustedConsumerConfig, eventStreamConfig, taskConsumerConfig, keyedConsumerConfig, recorderConsumerConfig, type InvocationBounds, invocationBoundsConfig, type WantedStream, type WantedConsumer,
} from './configs.js';
export {
  type DeclareOutcome, type Declared, type TopologyReport, ensureExhaustedConsumer, ensureKeyedConsumers, declareMeshTopology, ensureTaskConsumer, ensureRecorderConsumer, applyInvocationBounds,
} from './declare.js';
