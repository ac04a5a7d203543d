import { fieldName, objectOf, parseMessage, readNested, toJsonValue, type MessageSpec } from './codec.js';
import { Failure } from './failure.js';
import type { JsonObject, JsonValue } from './json.js';
import { INVOCATION_ID_PATTERN, MAX_EVENT_TYPE_LENGTH, WORKER_ID_PATTERN } from './limits.js';
import { isFinalState, isResponseState, RESPONSE_STATES, ResponseState } from './states.js';
import { IsConstant, IsIntBetween, IsIsoInstant, IsJson, IsJsonObject, IsOneOf, IsStringLength, MatchesPattern, Optional } from './validators.js';
import { PROTOCOL_VERSION } from './version.js';

/** `data` of a SUCCESS: the task's result (any JSON; null when the task returned nothing). */
export class SuccessData {
  /** The task's result. */
  @IsJson()
  result!: JsonValue;
}

/** `data` of a FAILURE: why it failed. */
export class FailureData {
  /** The failure (required). */
  failure!: Failure;
}

/** `data` of an EVENT: a progress or other event that does not change the request's state. */
export class EventData {
  /** What kind of event (`progress`, ...), 1..MAX_EVENT_TYPE_LENGTH characters. */
  @IsStringLength(1, MAX_EVENT_TYPE_LENGTH)
  eventType!: string;

  /** Event-specific JSON object (e.g. `{done, total}` for progress). */
  @Optional()
  @IsJsonObject()
  details?: JsonObject;
}

/** The `data` of a RESPONSE, by state: SuccessData, FailureData, EventData, or none for WAITING/PENDING/RUNNING. */
export type ResponseData = SuccessData | FailureData | EventData;

/** Optional facts a RESPONSE may carry about the attempt that produced it. */
export interface ResponseMeta {
  /** Which attempt (1 for the first run). */
  attempt?: number;
  /** The worker that sent it. */
  worker?: string;
  /** When the state was entered (ISO-8601); defaults to absent. */
  at?: string;
}

/**
 * RESPONSE: a state change, progress event or outcome of an invocation, and the reply shape of every API
 * (an error reply is a FAILURE RESPONSE, with `id` absent when the request was too malformed to carry one).
 */
export class ResponseMessage {
  /** Protocol version (PROTOCOL_VERSION). */
  @IsConstant(PROTOCOL_VERSION)
  v!: typeof PROTOCOL_VERSION;

  /** Always `RESPONSE`. */
  @IsConstant('RESPONSE')
  type!: 'RESPONSE';

  /** The invocation id; absent only on an error reply to a request that had none. */
  @Optional()
  @MatchesPattern(INVOCATION_ID_PATTERN)
  id?: string;

  /** The state entered, or EVENT. */
  @IsOneOf(RESPONSE_STATES)
  state!: ResponseState;

  /** By state: `{result}` (SUCCESS), `{failure}` (FAILURE), `{eventType, details?}` (EVENT), none otherwise. */
  data?: ResponseData;

  /** Which attempt produced it (>= 1). */
  @Optional()
  @IsIntBetween(1, Number.MAX_SAFE_INTEGER)
  attempt?: number;

  /** The worker that sent it. */
  @Optional()
  @MatchesPattern(WORKER_ID_PATTERN)
  worker?: string;

  /** When the state was entered (ISO-8601), so records get start and finish times from the worker that saw them. */
  @Optional()
  @IsIsoInstant()
  at?: string;

  /** True for SUCCESS and FAILURE. */
  get isFinal(): boolean {
    return isFinalState(this.state);
  }

  /** The result of a SUCCESS, else undefined. */
  get result(): JsonValue | undefined {
    return this.state === ResponseState.SUCCESS ? (this.data as SuccessData).result : undefined;
  }

  /** The failure of a FAILURE, else undefined. */
  get failure(): Failure | undefined {
    return this.state === ResponseState.FAILURE ? (this.data as FailureData).failure : undefined;
  }

  /** The data of an EVENT, else undefined. */
  get event(): EventData | undefined {
    return this.state === ResponseState.EVENT ? (this.data as EventData) : undefined;
  }

  /** Reads a RESPONSE from bytes, JSON text or a parsed value; throws InvalidMessageError listing every problem. */
  static parse(raw: unknown): ResponseMessage {
    return parseMessage(raw, RESPONSE_SPEC);
  }

  /** A SUCCESS with `result` made JSON (undefined becomes null; InvalidMessageError when it cannot be JSON). */
  static success(id: string, result: unknown, meta: ResponseMeta = {}): ResponseMessage {
    return build({ id, state: ResponseState.SUCCESS, data: { result: toJsonValue(result, 'data.result', RESPONSE_SPEC.what) }, ...meta });
  }

  /** A FAILURE; `id` is undefined when the request was too malformed to carry one. */
  static failure(id: string | undefined, failure: Failure, meta: ResponseMeta = {}): ResponseMessage {
    return build({ id, state: ResponseState.FAILURE, data: { failure: plainFailure(failure) }, ...meta });
  }

  /** A WAITING (submit's reply: accepted durably, waiting for a worker). */
  static waiting(id: string): ResponseMessage {
    return build({ id, state: ResponseState.WAITING });
  }

  /** A bare state change (WAITING, PENDING, RUNNING); use success/failure/event for the states that carry data. */
  static state(id: string, state: 'WAITING' | 'PENDING' | 'RUNNING', meta: ResponseMeta = {}): ResponseMessage {
    return build({ id, state, ...meta });
  }

  /** An EVENT (`eventType` such as `progress`) with optional JSON details; the state does not change. */
  static event(id: string, eventType: string, details?: unknown, meta: ResponseMeta = {}): ResponseMessage {
    const data: Record<string, unknown> = { eventType };
    if (details !== undefined) data['details'] = toJsonValue(details, 'data.details', RESPONSE_SPEC.what);
    return build({ id, state: ResponseState.EVENT, data, ...meta });
  }
}

function build(fields: Record<string, unknown>): ResponseMessage {
  return parseMessage({ v: PROTOCOL_VERSION, type: 'RESPONSE', ...fields }, RESPONSE_SPEC);
}

function plainFailure(failure: Failure): Record<string, unknown> {
  return { code: failure.code, message: failure.message, retryable: failure.retryable, details: failure.details };
}

const FAILURE_SPEC: MessageSpec<Failure> = {
  what: 'failure',
  ctor: Failure,
  fields: ['code', 'message', 'retryable', 'details'],
  optional: ['details'],
  versioned: false,
};

const SUCCESS_SPEC: MessageSpec<SuccessData> = {
  what: 'SUCCESS data',
  ctor: SuccessData,
  fields: ['result'],
  versioned: false,
};

const EVENT_SPEC: MessageSpec<EventData> = {
  what: 'EVENT data',
  ctor: EventData,
  fields: ['eventType', 'details'],
  optional: ['details'],
  versioned: false,
};

const FAILURE_DATA_SPEC: MessageSpec<FailureData> = {
  what: 'FAILURE data',
  ctor: FailureData,
  fields: ['failure'],
  versioned: false,
  finish: (data, record, problems) => {
    const failure = record['failure'];
    if (failure === undefined || failure === null) return; // reported as `data.failure: is required`
    data.failure = readNested(failure, FAILURE_SPEC, 'data.failure', problems) ?? FAILED_READ;
  },
};

// Stands in for a failure that did not read, so `is required` is not reported on top of its own problems.
const FAILED_READ = Failure.create('INTERNAL', 'unreadable');

const RESPONSE_SPEC: MessageSpec<ResponseMessage> = {
  what: 'RESPONSE message',
  ctor: ResponseMessage,
  fields: ['v', 'type', 'id', 'state', 'data', 'attempt', 'worker', 'at'],
  optional: ['id', 'data', 'attempt', 'worker', 'at'],
  versioned: true,
  finish: (message, record, problems) => {
    const raw = record['data'];
    const state: unknown = message.state;
    if (!isResponseState(state)) {
      message.data = undefined; // the state problem is reported; data cannot be judged without it
      return;
    }
    const required = state === 'SUCCESS' || state === 'FAILURE' || state === 'EVENT';
    if (raw === undefined || raw === null) {
      message.data = undefined;
      if (required) problems.push(`data: is required for ${state} (${DATA_HINT[state]})`);
      return;
    }
    if (!required) {
      // WAITING, PENDING and RUNNING carry no data; an empty object is tolerated as "none" (taskflow sends {}).
      const record = objectOrProblem(raw, problems);
      if (record !== undefined) for (const key of Object.keys(record)) problems.push(`unknown field ${fieldName(`data.${key}`)}`);
      message.data = undefined;
      return;
    }
    const spec = state === 'SUCCESS' ? SUCCESS_SPEC : state === 'FAILURE' ? FAILURE_DATA_SPEC : EVENT_SPEC;
    message.data = readNested<ResponseData>(raw, spec as MessageSpec<ResponseData>, 'data', problems);
  },
};

const DATA_HINT: Record<'SUCCESS' | 'FAILURE' | 'EVENT', string> = {
  SUCCESS: '{"result": ...}',
  FAILURE: '{"failure": {"code", "message", "retryable", "details"?}}',
  EVENT: '{"eventType": "...", "details"?: {...}}',
};

function objectOrProblem(value: unknown, problems: string[]): Record<string, unknown> | undefined {
  try {
    return objectOf(value, 'RESPONSE message', 'data');
  } catch {
    problems.push('data: must be an object');
    return undefined;
  }
}
