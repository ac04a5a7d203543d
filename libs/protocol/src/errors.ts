import { DEFAULT_RETRYABLE, Failure, FailureCode, isFailureCode } from './failure.js';
import type { JsonObject, JsonValue } from './json.js';
import { isRequestState, type RequestState } from './states.js';
import { PROTOCOL_VERSION } from './version.js';

/** Options every MeshError accepts. */
export interface MeshErrorOptions {
  /** Overrides DEFAULT_RETRYABLE of the code. */
  retryable?: boolean;
  /** Structured context, sent on the wire as `failure.details`. */
  details?: JsonObject;
  /** The error this one wraps (kept in memory, not sent). */
  cause?: unknown;
}

/** Root of every error the mesh raises on purpose: a failure code, a retryable flag, details and a cause. */
export class MeshError extends Error {
  /** The failure code this error travels as. */
  readonly code: FailureCode;
  /** Whether trying again may succeed. */
  readonly retryable: boolean;
  /** Structured context (JSON object), or undefined. */
  readonly details: JsonObject | undefined;

  constructor(code: FailureCode, message: string, options: MeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? DEFAULT_RETRYABLE[code];
    this.details = options.details;
  }

  /** The wire form `{code, message, retryable, details?}` (the cause stays behind). */
  toFailure(): Failure {
    return Failure.create(this.code, this.message, { retryable: this.retryable, details: this.details });
  }

  /** Rebuilds the subclass that matches `failure.code` (and its details), so callers can `instanceof` it. */
  static fromFailure(failure: Pick<Failure, 'code' | 'message' | 'retryable' | 'details'>): MeshError {
    const code: FailureCode = isFailureCode(failure.code) ? failure.code : FailureCode.INTERNAL;
    const options: MeshErrorOptions = { retryable: failure.retryable, details: failure.details };
    const details = failure.details ?? {};
    switch (code) {
      case FailureCode.BAD_REQUEST: {
        const problems = stringList(details['problems']);
        if (details['supportedVersion'] !== undefined) return new ProtocolVersionError(details['receivedVersion'] ?? null, failure.message, options);
        if (typeof details['token'] === 'string' && typeof details['what'] === 'string' && problems.length === 0) {
          return new InvalidSubjectTokenError(details['token'], details['what'], failure.message, options);
        }
        return new InvalidMessageError(failure.message, problems, options);
      }
      case FailureCode.VALIDATION_FAILED:
        return new ValidationFailedError(failure.message, stringList(details['problems']), options);
      case FailureCode.UNKNOWN_TASK:
        return new UnknownTaskError(failure.message, options);
      case FailureCode.TIMEOUT:
        return new MeshTimeoutError(failure.message, options);
      case FailureCode.TASK_FAILED:
        return new TaskFailedError(failure.message, options);
      case FailureCode.CANCELLED:
        return new CancelledError(failure.message, options);
      case FailureCode.CYCLE_DETECTED:
        return new CycleDetectedError(failure.message, options);
      case FailureCode.OVERLOADED:
        return new OverloadedError(failure.message, options);
      case FailureCode.WORKER_LOST:
        return new WorkerLostError(failure.message, options);
      case FailureCode.NOT_FOUND:
        return new NotFoundError(failure.message, options);
      case FailureCode.INTERNAL: {
        const from = details['from'];
        const to = details['to'];
        if (isRequestState(from) && isRequestState(to)) return new IllegalTransitionError(from, to, { ...options, message: failure.message });
        return new InternalError(failure.message, options);
      }
    }
  }
}

/** Options of the errors that list problems: MeshErrorOptions plus the problems themselves. */
export interface ProblemOptions extends MeshErrorOptions {
  /** Each thing wrong, as `path: what is wrong`. */
  problems?: readonly string[];
}

function splitProblems(problems: readonly string[] | ProblemOptions, options: MeshErrorOptions): [string[], MeshErrorOptions] {
  if (Array.isArray(problems)) return [capProblems(problems as readonly string[]), options];
  const { problems: list, ...rest } = problems as ProblemOptions;
  return [capProblems(list ?? []), { ...options, ...rest }];
}

/** Longest `problems` list kept: enough to fix a message, short enough for a log line and a header. */
export const MAX_PROBLEMS = 20;

/** BAD_REQUEST: a message or request is malformed. `problems` lists each thing wrong (`args.foo: must be a string`). */
export class InvalidMessageError extends MeshError {
  /** Each thing wrong, as `path: what is wrong` or `unknown field "name"`. */
  readonly problems: string[];

  /** `problems` may be given as a list, or inside the options (`{problems, details, cause}`). */
  constructor(message: string, problems: readonly string[] | ProblemOptions = [], options: MeshErrorOptions = {}) {
    const [kept, opts] = splitProblems(problems, options);
    super(FailureCode.BAD_REQUEST, message, { ...opts, details: { ...opts.details, problems: kept } });
    this.problems = kept;
  }

  /** An InvalidMessageError whose message is `what: problem; problem...`. */
  static of(what: string, problems: readonly string[], options: MeshErrorOptions = {}): InvalidMessageError {
    const kept = capProblems(problems);
    return new InvalidMessageError(`invalid ${what}: ${kept.join('; ')}`, kept, options);
  }
}

/** BAD_REQUEST: the envelope's `v` is not PROTOCOL_VERSION. A typed rejection, never a half-read message. */
export class ProtocolVersionError extends InvalidMessageError {
  /** The `v` the message carried. */
  readonly receivedVersion: JsonValue;

  constructor(receivedVersion: unknown, message?: string, options: MeshErrorOptions = {}) {
    const received: JsonValue =
      typeof receivedVersion === 'number' || typeof receivedVersion === 'string' || typeof receivedVersion === 'boolean' || receivedVersion === null
        ? receivedVersion
        : String(typeof receivedVersion);
    const problem = `v: protocol version ${shortJson(received)} is not supported (this peer speaks ${PROTOCOL_VERSION})`;
    super(message ?? problem, [problem], {
      ...options,
      details: { ...options.details, receivedVersion: received, supportedVersion: PROTOCOL_VERSION },
    });
    this.receivedVersion = received;
  }
}

/** BAD_REQUEST: a value cannot be a NATS subject token (empty, `.`, `*`, `>`, whitespace, control characters). */
export class InvalidSubjectTokenError extends MeshError {
  /** The rejected token (as text). */
  readonly token: string;
  /** What the token was meant to be (`task`, `invocation id`...). */
  readonly what: string;

  constructor(token: unknown, what: string, problem: string, options: MeshErrorOptions = {}) {
    const text = typeof token === 'string' ? token : String(typeof token);
    const message = problem.startsWith(`${what} `) ? problem : `${what} ${shortJson(text)} ${problem}`;
    super(FailureCode.BAD_REQUEST, message, { ...options, details: { ...options.details, token: text, what } });
    this.token = text;
    this.what = what;
  }
}

/** VALIDATION_FAILED: the arguments do not match the task's schema; `problems` lists each mismatch. */
export class ValidationFailedError extends MeshError {
  /** Each mismatch, as `args.path: what is wrong`. */
  readonly problems: string[];

  /** `problems` may be given as a list, or inside the options (`{problems, details, cause}`). */
  constructor(message: string, problems: readonly string[] | ProblemOptions = [], options: MeshErrorOptions = {}) {
    const [kept, opts] = splitProblems(problems, options);
    super(FailureCode.VALIDATION_FAILED, message, { ...opts, details: { ...opts.details, problems: kept } });
    this.problems = kept;
  }
}

/** INTERNAL: a request state change that the transition table forbids (e.g. a late result after a final state). */
export class IllegalTransitionError extends MeshError {
  /** The state the request was in. */
  readonly from: RequestState;
  /** The state it was asked to move to. */
  readonly to: RequestState;

  constructor(from: RequestState, to: RequestState, options: MeshErrorOptions & { message?: string } = {}) {
    super(FailureCode.INTERNAL, options.message ?? `illegal request transition ${from} -> ${to}`, {
      retryable: false,
      ...options,
      details: { ...options.details, from, to },
    });
    this.from = from;
    this.to = to;
  }
}

/** UNKNOWN_TASK: no worker has ever offered the task and none does now. */
export class UnknownTaskError extends MeshError {
  constructor(message: string, options: MeshErrorOptions = {}) {
    super(FailureCode.UNKNOWN_TASK, message, options);
  }
}

/** TIMEOUT: the deadline passed. (Not `TimeoutError`, which DOM code already names.) */
export class MeshTimeoutError extends MeshError {
  constructor(message: string, options: MeshErrorOptions = {}) {
    super(FailureCode.TIMEOUT, message, options);
  }
}

/** TASK_FAILED: the task's handler threw; `retryable` is the handler's own verdict. */
export class TaskFailedError extends MeshError {
  constructor(message: string, options: MeshErrorOptions = {}) {
    super(FailureCode.TASK_FAILED, message, options);
  }
}

/** CANCELLED: cancelled by a caller or operator. */
export class CancelledError extends MeshError {
  constructor(message: string, options: MeshErrorOptions = {}) {
    super(FailureCode.CANCELLED, message, options);
  }
}

/** CYCLE_DETECTED: the call would make an invocation its own ancestor. */
export class CycleDetectedError extends MeshError {
  constructor(message: string, options: MeshErrorOptions = {}) {
    super(FailureCode.CYCLE_DETECTED, message, options);
  }
}

/** OVERLOADED: a bound was reached; retry later. */
export class OverloadedError extends MeshError {
  constructor(message: string, options: MeshErrorOptions = {}) {
    super(FailureCode.OVERLOADED, message, options);
  }
}

/** WORKER_LOST: a non-idempotent task's worker expired mid-run (direct delivery); the outcome is unknown. */
export class WorkerLostError extends MeshError {
  constructor(message: string, options: MeshErrorOptions = {}) {
    super(FailureCode.WORKER_LOST, message, options);
  }
}

/** NOT_FOUND: no such invocation or dispatch. */
export class NotFoundError extends MeshError {
  constructor(message: string, options: MeshErrorOptions = {}) {
    super(FailureCode.NOT_FOUND, message, options);
  }
}

/** INTERNAL: a fault inside the mesh. */
export class InternalError extends MeshError {
  constructor(message: string, options: MeshErrorOptions = {}) {
    super(FailureCode.INTERNAL, message, options);
  }
}

/**
 * The wire failure for anything thrown: a MeshError keeps its code, retryable flag and details; a Failure is
 * returned as is; anything else becomes `defaultCode` (INTERNAL for the mesh's own faults, TASK_FAILED when a
 * task handler threw) with the error's message. Never throws.
 */
export function failureOf(err: unknown, defaultCode: FailureCode = FailureCode.INTERNAL): Failure {
  try {
    if (err instanceof MeshError) return err.toFailure();
    if (err instanceof Failure) return err;
    if (err instanceof Error) {
      const details: JsonObject = { error: err.name };
      return Failure.create(defaultCode, describeThrown(err.message || err.name), { details });
    }
    return Failure.create(defaultCode, describeThrown(err));
  } catch {
    // A hostile value (a getter that throws, a Proxy): the code still has to travel.
    return Failure.create(defaultCode, 'unprintable error');
  }
}

/** Longest message failureOf keeps from a foreign thrown value. */
const MAX_THROWN_MESSAGE = 4_096;

function describeThrown(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (value === undefined || value === null || typeof value !== 'object') text = String(value);
  else text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_THROWN_MESSAGE ? `${text.slice(0, MAX_THROWN_MESSAGE - 3)}...` : text;
}

function capProblems(problems: readonly string[]): string[] {
  const list = Array.from(problems, (p) => String(p));
  if (list.length <= MAX_PROBLEMS) return list;
  return [...list.slice(0, MAX_PROBLEMS - 1), `... and ${list.length - (MAX_PROBLEMS - 1)} more problems`];
}

function stringList(value: JsonValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function shortJson(value: JsonValue): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
