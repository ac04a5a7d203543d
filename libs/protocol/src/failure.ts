import { IsBool, IsJsonObject, IsOneOf, IsStringLength, Optional } from './validators.js';
import type { JsonObject } from './json.js';
import { MAX_FAILURE_MESSAGE_LENGTH } from './limits.js';

/** Why an invocation or an API call did not succeed. The code is the contract; the message is for people. */
export const FailureCode = {
  /** The request itself is malformed (not JSON, unknown field, bad id, wrong protocol version...). */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The arguments do not match the task's schema. */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  /** No worker has ever offered the task and none does now. */
  UNKNOWN_TASK: 'UNKNOWN_TASK',
  /** The deadline passed (before a worker started it, or while waiting for it). */
  TIMEOUT: 'TIMEOUT',
  /** The task's handler threw. */
  TASK_FAILED: 'TASK_FAILED',
  /** Cancelled by a caller or operator. */
  CANCELLED: 'CANCELLED',
  /** A parent -> child call chain would call an ancestor again. */
  CYCLE_DETECTED: 'CYCLE_DETECTED',
  /** A bound was reached (queue full, too many in flight); retry later. */
  OVERLOADED: 'OVERLOADED',
  /** Direct delivery only: a non-idempotent task's worker expired mid-run, so the outcome is unknown. */
  WORKER_LOST: 'WORKER_LOST',
  /** No such invocation or dispatch. */
  NOT_FOUND: 'NOT_FOUND',
  /** A fault inside the mesh itself. */
  INTERNAL: 'INTERNAL',
} as const;

/** One of the failure codes. */
export type FailureCode = (typeof FailureCode)[keyof typeof FailureCode];

/** Every failure code. */
export const FAILURE_CODES: readonly FailureCode[] = Object.freeze(Object.values(FailureCode));

/** True when `value` is one of the failure codes. */
export function isFailureCode(value: unknown): value is FailureCode {
  return typeof value === 'string' && (FAILURE_CODES as readonly string[]).includes(value);
}

/**
 * The numeric `Nats-Service-Error-Code` of each failure code, HTTP-like so that NATS micro tooling and
 * people read them at a glance. Two pairs share a number (404, 500): the `code` string is authoritative.
 */
export const FAILURE_STATUS: Readonly<Record<FailureCode, number>> = Object.freeze({
  BAD_REQUEST: 400, // Bad Request
  VALIDATION_FAILED: 422, // Unprocessable Content: well-formed, but the args are wrong for this task
  UNKNOWN_TASK: 404, // Not Found: nothing serves this task
  TIMEOUT: 408, // Request Timeout
  TASK_FAILED: 500, // Internal Server Error, raised by the task rather than the mesh
  CANCELLED: 499, // Client Closed Request (nginx): the caller gave up
  CYCLE_DETECTED: 409, // Conflict with the invocations already in the chain
  OVERLOADED: 503, // Service Unavailable: retry later
  WORKER_LOST: 502, // Bad Gateway: the upstream (the worker) went away mid-request
  NOT_FOUND: 404, // Not Found
  INTERNAL: 500, // Internal Server Error
});

/**
 * Whether a failure of each code is worth retrying when whoever raised it did not say. OVERLOADED is
 * transient by definition and INTERNAL usually is (a store write that failed); WORKER_LOST is not, because
 * the task may have had its effect and only its caller can judge whether running it again is safe.
 */
export const DEFAULT_RETRYABLE: Readonly<Record<FailureCode, boolean>> = Object.freeze({
  BAD_REQUEST: false,
  VALIDATION_FAILED: false,
  UNKNOWN_TASK: false,
  TIMEOUT: false,
  TASK_FAILED: false,
  CANCELLED: false,
  CYCLE_DETECTED: false,
  OVERLOADED: true,
  WORKER_LOST: false,
  NOT_FOUND: false,
  INTERNAL: true,
});

/** An error on the wire: `{code, message, retryable, details?}` (`data.failure` of a FAILURE RESPONSE). */
export class Failure {
  /** What went wrong, as a protocol word. */
  @IsOneOf(FAILURE_CODES)
  code!: FailureCode;

  /** What went wrong, for people. */
  @IsStringLength(0, MAX_FAILURE_MESSAGE_LENGTH)
  message!: string;

  /** Whether trying again may succeed. */
  @IsBool()
  retryable!: boolean;

  /** Structured context (e.g. `problems` of a BAD_REQUEST); JSON object. */
  @Optional()
  @IsJsonObject()
  details?: JsonObject;

  /** A failure with `retryable` defaulting to DEFAULT_RETRYABLE of the code (the message is cut to MAX_FAILURE_MESSAGE_LENGTH). */
  static create(code: FailureCode, message: string, options: { retryable?: boolean; details?: JsonObject } = {}): Failure {
    const failure = new Failure();
    failure.code = code;
    failure.message = message.length > MAX_FAILURE_MESSAGE_LENGTH ? `${message.slice(0, MAX_FAILURE_MESSAGE_LENGTH - 3)}...` : message;
    failure.retryable = options.retryable ?? DEFAULT_RETRYABLE[code];
    failure.details = options.details;
    return failure;
  }
}
