// The NATS/JetStream wiring of taskmesh: the only place that connects, declares streams, consumers and buckets
// (topology/), and adapts NATS to Nest (NatsModule, the Mesh transport). Every export is named here.

export {
  connectNats,
  natsAuthOf,
  type NatsAuth,
  watchNatsStatus,
  DEFAULT_CONNECT_ATTEMPTS,
  DEFAULT_CONNECT_DELAY_MS,
  DEFAULT_CONNECT_ATTEMPT_TIMEOUT_MS,
  PING_INTERVAL_MS,
  RECONNECT_TIME_WAIT_MS,
  type NatsConnectOptions,
  type NatsLog,
  type NatsLogLevel,
} from './connect.js';

export {
  NatsUnreachableError,
  NatsAuthError,
  TopologyConflictError,
  isNatsUnreachable,
  isStreamFullError,
  isWrongRevision,
} from './errors.js';

// The names derive in @taskmesh/protocol (the SDK needs them too); re-exported here, where they were first.
export { meshNames, type MeshNames } from '@taskmesh/protocol';

export {
  resolveLimits,
  refusesAtByteLimit,
  declareMeshTopology,
  ensureTaskConsumer,
  ensureKeyedConsumers,
  keyedConsumerConfig,
  ensureRecorderConsumer,
  recorderConsumerConfig,
  applyInvocationBounds,
  invocationBoundsConfig,
  ensureExhaustedConsumer,
  exhaustedConsumerConfig,
  exhaustedStreamConfig,
  workStreamConfig,
  eventStreamConfig,
  deadLetterStreamConfig,
  DEAD_LETTER_MAX_AGE_MS,
  DEAD_LETTER_MAX_BYTES,
  taskConsumerConfig,
  DEFAULT_TOPOLOGY_LIMITS,
  DEFAULT_ACK_WAIT_MS,
  DEFAULT_MAX_DELIVER,
  DEFAULT_MAX_ACK_PENDING,
  DEFAULT_WORK_MAX_MSGS,
  DEFAULT_WORK_MAX_BYTES,
  DEFAULT_WORK_MAX_MSG_SIZE,
  DEFAULT_DUPLICATE_WINDOW_MS,
  DEFAULT_EVENTS_MAX_AGE_MS,
  DEFAULT_EVENTS_MAX_BYTES,
  DEFAULT_TASKS_MAX_BYTES,
  DEFAULT_INVOCATIONS_MAX_BYTES,
  CANCELLED_MAX_AGE_MS,
  type InvocationBounds,
  type TopologyLimits,
  type TopologyReport,
  type Declared,
  type DeclareOutcome,
  type WantedStream,
  type WantedConsumer,
} from './topology/index.js';

export { KvTaskCatalog, type TaskCatalog, type OfferTraits } from './task-catalog.js';
export { KvInvocationStore, type InvocationReader, type InvocationStore, type StoredInvocation, type WrittenInvocation } from './invocation-store.js';
export { StreamInvocationEvents, type InvocationEvents } from './invocation-events.js';
export { KvCancellations, type Cancellations } from './cancellations.js';
export { KvConcurrencyClaims, type ConcurrencyClaims, type Claim, type HeldClaim } from './claims.js';
export { KvDispatchStore, type DispatchStore, type StoredDispatch } from './dispatch-store.js';
export { bucketKeys, removeKey, scanBucket, type BucketEntry, type ScanVisitor } from './bucket-keys.js';
export { BucketReader, bucketUsage, walkBucket, type BucketUsage, type WalkEnd, type WalkRange, type WalkVisitor, type WrittenEntry } from './bucket-walk.js';
export { KvLease, leaseStep, type Lease, type LeaseStep } from './lease.js';
export { createMeshBus, MESH_BUS, type MeshBus, type MeshBusOptions, type MeshHeaders } from './mesh-bus.js';
export {
  JsmStreamMessages,
  uniqueId,
  type ConsumedMessage,
  type ConsumedMessages,
  type Consumption,
  type KeyChange,
  type KeyWatch,
  type MeshMsg,
  type MeshMsgHeaders,
  type StreamMessage,
  type StreamMessages,
} from './mesh-ports.js';
export { retrying } from './retrying.js';
export { isStoreRetryable, NoStreamError, StoredPublisher, StoreTimeoutError, type PubAck } from './stored-publisher.js';
export { newInbox } from './inbox.js';
export { NatsModule, NATS_MODULE_OPTIONS, type NatsModuleOptions, type NatsEnv } from './nats.module.js';

export { MeshContext } from './transport/mesh.context.js';
export {
  MeshTransport,
  meshReply,
  type MeshReply,
  type MeshPatternExtras,
  type MeshPattern,
  type MeshServiceInfo,
} from './transport/mesh.transport.js';
export {
  EndpointStatsBook,
  DiscoveryVerb,
  checkIdentity,
  discoveryResponse,
  discoverySubjects,
  type ServiceIdentity,
  type EndpointInfo,
  type EndpointStats,
} from './micro/service-discovery.js';
export { serveDiscovery, type DiscoveryResponders } from './micro/serve-discovery.js';
