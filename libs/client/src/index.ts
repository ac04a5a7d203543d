// @taskmesh/client: call, submit, wait for and watch tasks on a taskmesh mesh from any Node program (docs/PROTOCOL.md
// is the contract it speaks). Every export is named here so the public surface reads at a glance. The Nest module is
// in the subpath `@taskmesh/client/nest`, so a plain script never loads @nestjs/common.

export { MeshClient, CANCEL_RETRY_MS } from './mesh-client.js';
export type {
  MeshConnectOptions,
  CallOptions,
  ListOptions,
  WorkerInfo,
  DeadLetter,
  NewDispatch,
  DispatchChanges,
  TaskRef,
  MeshClientApi,
  RedriveTarget,
} from './mesh-client.js';
export { MeshObserver, DEFAULT_STATS_WAIT_MS, MAX_STATS_ANSWERS, type ServiceStats, type EndpointStatsView } from './mesh-observer.js';
export { MeshConnectError } from './errors.js';
export type { DirectPath, DirectPathFactory, MeshClientParts } from './direct-path.js';
export {
  DEFAULT_SERVER_URL,
  DEFAULT_CONNECTION_NAME,
  DEFAULT_CONNECT_ATTEMPTS,
  MAX_CONNECT_ATTEMPTS,
  CONNECT_RETRY_DELAY_MS,
  CONNECT_ATTEMPT_TIMEOUT_MS,
  natsAuthOptions,
  type MeshAuthOptions,
} from './connection.js';
export { callReplyTimeoutMs, START_REPORT_GRACE_MS, RECOVERY_ALLOWANCE_MS, REQUEST_TIMEOUT_MS } from './call-body.js';
export { EVENT_ROUND_MS, RECORD_CHECK_MS, EVENTS_ABSENT_MS } from './invocation-events.js';
export { FOLLOW_QUEUE_BOUND } from './subject-feed.js';

// What callers catch and type with, from @taskmesh/protocol, so one import serves.
export {
  MeshError,
  InvalidMessageError,
  ValidationFailedError,
  UnknownTaskError,
  MeshTimeoutError,
  TaskFailedError,
  CancelledError,
  CycleDetectedError,
  OverloadedError,
  WorkerLostError,
  NotFoundError,
  InternalError,
  FailureCode,
  ResponseMessage,
  defineTask,
  type TaskDef,
  type TaskArgs,
  type TaskResult,
  type InvocationRecord,
  type InvocationStory,
  type StoryLine,
  type MissingAttempt,
  type RedriveReply,
  type RedriveSkip,
  type DispatchRecord,
  type DispatchEventMessage,
  type DispatchUpcoming,
  type WorkerEventMessage,
  type RequestState,
  type JsonValue,
} from '@taskmesh/protocol';

// Direct calls (docs/PROTOCOL.md 4.9): the pure cores and the one shell a router and a smart client both place them
// with, and the client's smart direct mode.
export { createDirectPath, SmartDirectPath, DEFAULT_MAX_DIRECT_CALLS, type DirectPathOptions, type DirectPathCounts } from './direct/smart-direct-path.js';
export {
  DirectCaller,
  MAX_DIRECT_ATTEMPTS,
  PICKUP_GRACE_MS,
  DEFAULT_REMEMBERED_ANSWERS,
  type DirectCallerOptions,
  type DirectOutcome,
  type DirectPorts,
  type DirectRequest,
  type ReplyMsg,
} from './direct/direct-caller.js';
export { DirectCalls, type DirectCall, type DirectReport, type Verdict as DirectVerdict } from './direct/direct-calls.js';
export { goesDirect, type CallMode } from './direct/goes-direct.js';
export { placeDirect, type Placeable } from './direct/placement.js';
export { offerTraits, type TaskTraits } from './direct/task-traits.js';
export { WorkerRegistry, type WorkerBeat, type WorkerEntry, type WorkerView } from './direct/worker-registry.js';
