import { readCallChain, type CallLink } from './call-link.js';
import { decodeBody, fieldName, objectOf, parseMessage, type MessageSpec } from './codec.js';
import { readDispatchContext, type DispatchContext } from './dispatch-context.js';
import { InvalidMessageError } from './errors.js';
import type { JsonValue } from './json.js';
import { DEFAULT_TIMEOUT_MS, INVOCATION_ID_PATTERN, MAX_KEY_LENGTH, MAX_TIMEOUT_MS } from './limits.js';
import type { ResponseMessage } from './response.message.js';
import { IsIntBetween, IsJson, IsOneOf, IsStringLength, MatchesPattern, Optional } from './validators.js';

/** How the router delivers a call to a worker. */
export const Delivery = {
  /** Through the JetStream work queue: survives crashes, retried, ordered by key. The default. */
  Durable: 'durable',
  /** Straight to a chosen live worker's topic (taskflow style): lowest latency, lost with its worker. */
  Direct: 'direct',
} as const;

/** One of the delivery modes. */
export type Delivery = (typeof Delivery)[keyof typeof Delivery];

export const DELIVERIES: readonly Delivery[] = Object.values(Delivery);

/**
 * The body of `<p>.call.<task>` and `<p>.submit.<task>` (docs/PROTOCOL.md section 4.1): `{args, id?, key?, timeoutMs?, delivery?}`,
 * plus `chain?` (child calls) and `dispatch?` (the scheduler's submits).
 * An unknown top-level field is a BAD_REQUEST naming it. `v` may be given (it must then be PROTOCOL_VERSION).
 */
export class CallRequest {
  /** The task's arguments: any JSON (null when absent); the task's schema judges them later. */
  @IsJson()
  args!: JsonValue;

  /** Invocation id chosen by the caller (INVOCATION_ID_PATTERN): the same id never runs twice. */
  @Optional()
  @MatchesPattern(INVOCATION_ID_PATTERN)
  id?: string;

  /** Ordering key (1..MAX_KEY_LENGTH characters): same key, one at a time, in acceptance order. */
  @Optional()
  @IsStringLength(1, MAX_KEY_LENGTH)
  key?: string;

  /** Deadline in ms from acceptance (1..MAX_TIMEOUT_MS, default DEFAULT_TIMEOUT_MS); work not started by then never starts. */
  @IsIntBetween(1, MAX_TIMEOUT_MS)
  timeoutMs!: number;

  /** `durable` or `direct`; absent: the task's declared delivery (`@Task({ delivery })`), else durable. */
  @Optional()
  @IsOneOf(DELIVERIES)
  delivery?: Delivery;

  /**
   * Set by a task calling another (`ctx.call`): its ancestors, the caller last. The child is linked to the caller,
   * and a call equal to an ancestor (same task and arguments) fails with CYCLE_DETECTED.
   */
  chain?: CallLink[];

  /** Set by the scheduler: which occurrence of which dispatch this invocation is (the task sees `ctx.dispatch`). */
  dispatch?: DispatchContext;

  /** Reads a call body (bytes, JSON text or a parsed value); throws InvalidMessageError listing every problem. */
  static parse(raw: unknown): CallRequest {
    return parseMessage(raw, CALL_SPEC);
  }

  /** A validated call request with the defaults filled in. */
  static create(fields: { args?: unknown; id?: string; key?: string; timeoutMs?: number; delivery?: Delivery; chain?: CallLink[]; dispatch?: DispatchContext } = {}): CallRequest {
    return parseMessage({ ...fields }, CALL_SPEC);
  }
}

const CALL_SPEC: MessageSpec<CallRequest> = {
  what: 'call request',
  ctor: CallRequest,
  fields: ['args', 'id', 'key', 'timeoutMs', 'delivery', 'chain', 'dispatch', 'v'],
  optional: ['id', 'key', 'delivery', 'chain', 'dispatch', 'v'],
  versioned: true,
  versionOptional: true,
  finish: (request, record, problems) => {
    request.chain = readCallChain(record['chain'], 'chain', problems);
    request.dispatch = readDispatchContext(record['dispatch'], 'dispatch', problems);
    const r = request as CallRequest & { v?: unknown };
    // `v` is only a courtesy check on callers' bodies; the request itself does not carry it further.
    delete r.v;
    if (request.args === undefined) request.args = null;
    if (request.timeoutMs === undefined || (request.timeoutMs as unknown) === null) request.timeoutMs = DEFAULT_TIMEOUT_MS;
  },
};

/** What parseCallBody learnt from a call body. */
export interface CallBody {
  /** The call, defaults filled in. */
  request: CallRequest;
  /** Set when the body was a NestJS ClientProxy envelope: answer with nestReply(nest.id, ...). */
  nest?: { id: string; pattern: string };
}

// The keys NestJS's NATS client writes: `{pattern, data, id}` (`data` is left out for undefined, and an
// onDispatchHook may add `metadata`, which the mesh ignores).
const NEST_KEYS: readonly string[] = ['pattern', 'data', 'id', 'metadata'];

/** Longest Nest packet id accepted (Nest writes a UUID). */
const MAX_NEST_ID_LENGTH = 256;

/**
 * Reads a call body: the mesh's own `{args, id?, key?, timeoutMs?, delivery?}`, or the envelope NestJS's
 * ClientProxy sends (`{pattern, data, id}`: `data` becomes `args`, the rest default) with `nest` set so the
 * reply can be written in Nest's format. Throws InvalidMessageError listing every problem.
 */
export function parseCallBody(raw: unknown): CallBody {
  try {
    const value = decodeBody(raw, CALL_SPEC.what);
    if (!isNestEnvelope(value)) return { request: CallRequest.parse(value) };
    const problems: string[] = [];
    const pattern = value['pattern'];
    const id = value['id'];
    if (typeof pattern !== 'string') problems.push('pattern: must be a string (NestJS envelope)');
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_NEST_ID_LENGTH) {
      problems.push(`id: must be a string of 1 to ${MAX_NEST_ID_LENGTH} characters (NestJS envelope)`);
    }
    for (const key of Object.keys(value)) if (!NEST_KEYS.includes(key)) problems.push(`unknown field ${fieldName(key)}`);
    let request: CallRequest | undefined;
    try {
      request = CallRequest.parse({ args: Object.hasOwn(value, 'data') ? value['data'] : null });
    } catch (err) {
      if (!(err instanceof InvalidMessageError)) throw err;
      problems.push(...err.problems.map((p) => p.replace(/^args\b/, 'data')));
    }
    if (problems.length > 0 || request === undefined) throw InvalidMessageError.of(CALL_SPEC.what, problems);
    return { request, nest: { id: id as string, pattern: pattern as string } };
  } catch (err) {
    if (err instanceof InvalidMessageError) throw err;
    throw InvalidMessageError.of(CALL_SPEC.what, ['body could not be read'], { cause: err });
  }
}

function isNestEnvelope(value: unknown): value is Record<string, unknown> {
  try {
    const record = objectOf(value, CALL_SPEC.what, '');
    // `pattern` is no field of the mesh's own body, so its presence alone tells the two apart.
    return Object.hasOwn(record, 'pattern');
  } catch {
    return false; // not an object: CallRequest.parse reports it
  }
}

/** The packet NestJS's ClientProxy reads as the answer to `send()`. */
export type NestReply =
  | { id: string; response: JsonValue; isDisposed: true }
  | { id: string; err: { code: string; message: string; retryable: boolean; details?: JsonValue }; isDisposed: true };

/**
 * The reply to a NestJS ClientProxy: `{id, response: <result>, isDisposed: true}` for SUCCESS (the observable
 * emits the result and completes), `{id, err: <failure>, isDisposed: true}` for FAILURE (it errors with the
 * failure object), and `{id, response: <the RESPONSE>, isDisposed: true}` for any other state (submit's WAITING).
 */
export function nestReply(nestId: string, response: ResponseMessage): NestReply {
  const failure = response.failure;
  if (failure !== undefined) {
    const err: { code: string; message: string; retryable: boolean; details?: JsonValue } = {
      code: failure.code,
      message: failure.message,
      retryable: failure.retryable,
    };
    if (failure.details !== undefined) err.details = failure.details;
    return { id: nestId, err, isDisposed: true };
  }
  if (response.state === 'SUCCESS') return { id: nestId, response: response.result ?? null, isDisposed: true };
  return { id: nestId, response: JSON.parse(JSON.stringify(response)) as JsonValue, isDisposed: true };
}
