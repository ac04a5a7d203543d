import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { FailureCode, MeshError, type MeshErrorOptions } from '@taskmesh/protocol';

/** No NATS server answered within the bounded boot retry; the process should exit (runApp: EXIT_UNAVAILABLE). */
export class NatsUnreachableError extends MeshError {
  /** The server URL(s) that were tried. */
  readonly servers: string;
  /** How many connection attempts were made. */
  readonly attempts: number;

  constructor(servers: string, attempts: number, options: MeshErrorOptions = {}) {
    const cause = options.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(FailureCode.INTERNAL, `NATS unreachable at ${servers} after ${attempts} attempt${attempts === 1 ? '' : 's'}${cause}`, {
      retryable: true,
      ...options,
      details: { ...options.details, servers, attempts },
    });
    this.servers = servers;
    this.attempts = attempts;
  }
}

/** The server refused our credentials: retrying cannot help, so the boot fails at once with this. */
export class NatsAuthError extends MeshError {
  constructor(servers: string, user: string | undefined, options: MeshErrorOptions = {}) {
    const cause = options.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(FailureCode.INTERNAL, `NATS at ${servers} refused the connection${user === undefined ? '' : ` of user "${user}"`}${cause}`, {
      retryable: false,
      ...options,
      details: { ...options.details, servers },
    });
  }
}

/**
 * A stream, consumer or bucket exists with a setting taskmesh cannot change in place (retention, storage, an
 * overlapping work-queue consumer...). An operator must act; the message says what and how.
 */
export class TopologyConflictError extends MeshError {
  constructor(message: string, options: MeshErrorOptions = {}) {
    super(FailureCode.INTERNAL, message, { retryable: false, ...options });
  }
}

/** True for the boot failure "no NATS server reachable" (for `runApp({ isUnavailable })`). */
export function isNatsUnreachable(err: unknown): boolean {
  return err instanceof NatsUnreachableError;
}

/** JetStream's "store failed" code: with `discard: new` it carries "maximum messages/bytes exceeded". */
const JS_STREAM_STORE_FAILED = 10077;
/** Account or server storage exhausted: the same situation one level up. */
const JS_STORAGE_RESOURCES_EXCEEDED = 10047;
const JS_INSUFFICIENT_RESOURCES = 10023;
const FULL_DESCRIPTION = /maximum (messages|bytes|messages per subject) exceeded|resource limits exceeded|insufficient (storage )?resources/i;

/**
 * True when a JetStream publish was refused because the stream (or the account's storage) is full: with
 * `discard: new` that is back-pressure, to be answered with OVERLOADED, not an internal error.
 * A message larger than `max_msg_size` is not "full" (it would never fit), so it is false for that.
 */
export function isStreamFullError(err: unknown): boolean {
  if (!(err instanceof JetStreamApiError)) return false;
  const code = err.code;
  if (code === JS_STORAGE_RESOURCES_EXCEEDED || code === JS_INSUFFICIENT_RESOURCES) return true;
  return code === JS_STREAM_STORE_FAILED && FULL_DESCRIPTION.test(err.message);
}

/** KV create/update lost the race: the key exists, or was written at another revision. */
export function isWrongRevision(err: unknown): boolean {
  return err instanceof JetStreamApiError
    && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

/** JetStream error codes a message delete answers with. */
const SEQUENCE_NOT_FOUND = 10043;
const STREAM_MSG_DELETE_FAILED = 10057;

/**
 * A message delete refused because the message is not there: 10043 "sequence not found" for a gap inside the stream,
 * 10057 "stream msg delete failed" with the store's reason for one outside it.
 */
export function isMessageGone(err: unknown): boolean {
  if (!(err instanceof JetStreamApiError)) return false;
  if (err.code === JetStreamApiCodes.NoMessageFound || err.code === SEQUENCE_NOT_FOUND) return true;
  return err.code === STREAM_MSG_DELETE_FAILED && /no message found|EOF/i.test(err.apiError().description ?? '');
}
