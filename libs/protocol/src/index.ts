// The wire contract of taskmesh (docs/PROTOCOL.md): the only place messages, subjects, states, failure
// codes, errors and limits are defined. Every export is named here so the public surface reads at a glance.

export { PROTOCOL_VERSION, TASKMESH_VERSION, type ProtocolVersion } from './version.js';

export {
  RequestState,
  ResponseState,
  REQUEST_STATES,
  RESPONSE_STATES,
  FINAL_STATES,
  isFinalState,
  isRequestState,
  isResponseState,
} from './states.js';

export { REQUEST_TRANSITIONS, REDRIVE_TRANSITION, canTransition, nextStates, redriveTransition, transition, type RequestTransition } from './request-state-machine.js';

export { FailureCode, FAILURE_CODES, FAILURE_STATUS, DEFAULT_RETRYABLE, Failure, isFailureCode } from './failure.js';

export {
  MeshError,
  InvalidMessageError,
  ProtocolVersionError,
  InvalidSubjectTokenError,
  ValidationFailedError,
  IllegalTransitionError,
  UnknownTaskError,
  MeshTimeoutError,
  TaskFailedError,
  CancelledError,
  CycleDetectedError,
  OverloadedError,
  WorkerLostError,
  NotFoundError,
  InternalError,
  MAX_PROBLEMS,
  failureOf,
  type MeshErrorOptions,
  type ProblemOptions,
} from './errors.js';

export { MeshHeader, MAX_SERVICE_ERROR_LENGTH, serviceErrorHeaders, headerSafe } from './headers.js';

export {
  DEFAULT_TIMEOUT_MS,
  MAX_TIMEOUT_MS,
  DEFAULT_NOTIFY_PERIOD_MS,
  DEFAULT_EXPIRES_AFTER_MS,
  MAX_MESSAGE_BYTES,
  INVOCATION_ID_PATTERN,
  TASK_NAME_PATTERN,
  WORKER_ID_PATTERN,
  MAX_KEY_LENGTH,
  DEFAULT_KEY_SHARDS,
  MAX_KEY_SHARDS,
  MAX_TASKS_PER_WORKER,
  MAX_EVENT_TYPE_LENGTH,
  MAX_SUBJECT_LENGTH,
  MAX_JSON_DEPTH,
  MAX_JSON_NODES,
  MAX_FAILURE_MESSAGE_LENGTH,
  DISPATCH_ID_PATTERN,
  MAX_CALL_DEPTH,
} from './limits.js';

export {
  Subjects,
  DEFAULT_SUBJECT_PREFIX,
  InvocationOp,
  DispatchOp,
  assertToken,
} from './subjects.js';

export { meshNames, type MeshNames } from './mesh-names.js';

export { tokenProblem, isIsoInstant, isLiteralSubject } from './validators.js';

export { type JsonValue, type JsonObject, isJsonValue, isJsonObject, isPlainObject, jsonProblem } from './json.js';

export { encodeMessage, decodeBody } from './codec.js';

export { NotifyMessage, type NotifyFields } from './notify.message.js';
export { RequestMessage, type RequestFields } from './request.message.js';
export {
  ResponseMessage,
  SuccessData,
  FailureData,
  EventData,
  type ResponseData,
  type ResponseMeta,
} from './response.message.js';
export { WorkerEventMessage, WorkerEvent } from './worker-event.message.js';
export {
  CallRequest,
  Delivery,
  parseCallBody,
  nestReply,
  type CallBody,
  type NestReply,
} from './call-request.js';

export { CallLink, ARGS_DIGEST_LENGTH, argsDigest, cycleIn } from './call-link.js';
export { DispatchContext } from './dispatch-context.js';
export {
  DispatchCreate,
  DispatchEventMessage,
  DispatchEventType,
  MisfirePolicy,
  MAX_RRULE_LENGTH,
  MAX_CRON_LENGTH,
  MAX_DURATION_MS,
  parseDispatchUpdate,
  parseDispatchUpcoming,
  MAX_UPCOMING,
  DEFAULT_UPCOMING,
  type DispatchRecord,
  type DispatchUpdate,
  type DispatchUpcoming,
  type DispatchUpcomingRequest,
  type Recurrence,
} from './dispatch.message.js';
export { TaskOffer, TaskConcurrency, ConcurrencyScope, MAX_KEY_ARGS, concurrencyKey } from './task-offer.message.js';

export { hash32, rendezvousOwner, keyShard } from './rendezvous.js';

export { newInvocationRecord, recordResponse, seedRecord, type InvocationRecord, type RedriveMark } from './invocation.record.js';
export {
  MAX_STORY_BYTES, MAX_STORY_DETAIL_BYTES, MAX_STORY_LINES, MAX_WORKER_STORY_LINES, type InvocationStory, type MissingAttempt, type StoryLine, type WorkerStory,
} from './story.js';
export { invocationProgress, type InvocationProgress } from './invocation-progress.js';
export { defineTask, type TaskDef, type TaskArgs, type TaskResult } from './task-def.js';
export { Role, ROLES, inboxPrefix, rolePermissions, natsAuthorization, type RolePermissions, type MeshUser } from './permissions.js';
export { REDRIVEN_EVENT, type DeadLetterView, type RedriveReply, type RedriveSkip } from './dead-letter.js';
