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
} from './mesh-client.js';
export { MeshConnectError } from './errors.js';
export type { DirectPath, DirectPathFactory, MeshClientParts } from './direct-path.js';
export {
  DEFAULT_SERVER_URL,
  DEFAULT_CONNECTION_NAME,
  DEFAULT_CONNECT_ATTEMPTS,
  MAX_CONNECT_ATTEMPTS,
  CONNECT_RETRY_DELAY_MS,
  CONNECT_ATTEMPT_TIMEOUT_MS,
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
  type DispatchRecord,
  type DispatchEventMessage,
  type RequestState,
  type JsonValue,
} from '@taskmesh/protocol';
