import { FailureCode, isFailureCode, isRequestState, isFinalState, type JsonObject } from '@taskmesh/protocol';

/** Success. */
export const EXIT_OK = 0;
/** Anything that is not a mesh failure: an unexpected error, a connection lost mid-command. */
export const EXIT_ERROR = 1;
/** A usage error: unknown flag or command, a missing or malformed argument (the command's help is printed). */
export const EXIT_USAGE = 2;
/** No NATS server could be reached (sysexits EX_UNAVAILABLE, as the apps exit at boot). */
export const EXIT_UNAVAILABLE = 69;
/** `wait` stopped at its `--timeout` while the invocation goes on (sysexits EX_TEMPFAIL: ask again later). */
export const EXIT_STILL_RUNNING = 75;
/** The server refused the credentials (sysexits EX_NOPERM). */
export const EXIT_NOPERM = 77;
/** The connection options cannot work: an unreadable creds file, an out-of-range value (sysexits EX_CONFIG, as the apps). */
export const EXIT_CONFIG = 78;
/** Stopped by Ctrl-C (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130;

/**
 * The exit status of each failure code (docs/PROTOCOL.md section 5), one number each, so a script can branch on the
 * code without parsing output. 10 and up: clear of the shell's 1/2, sysexits' 64..78 and signals' 128+.
 */
export const FAILURE_EXIT_CODES: Readonly<Record<FailureCode, number>> = Object.freeze({
  BAD_REQUEST: 10,
  VALIDATION_FAILED: 11,
  UNKNOWN_TASK: 12,
  TIMEOUT: 13,
  TASK_FAILED: 14,
  CANCELLED: 15,
  CYCLE_DETECTED: 16,
  OVERLOADED: 17,
  WORKER_LOST: 18,
  NOT_FOUND: 19,
  INTERNAL: 20,
});

/** Why the first connection failed: no server answered, the server refused the credentials, or the options cannot work. */
export type ConnectFailure = 'unreachable' | 'refused' | 'config';

/** The first connection failed (`why`); the message is the client's, which names the server. */
export class ConnectFailedError extends Error {
  constructor(
    readonly servers: string,
    readonly why: ConnectFailure,
    options: { cause: unknown },
  ) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(reason.includes(servers) ? reason : `cannot connect to ${servers}: ${reason}`, options);
    this.name = 'ConnectFailedError';
  }
}

/** Ctrl-C (or the caller's signal) stopped the command. */
export class InterruptedError extends Error {
  constructor(message = 'interrupted') {
    super(message);
    this.name = 'InterruptedError';
  }
}

/** A usage error found after parsing (e.g. two alternatives given): exit EXIT_USAGE with the command's help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The wire-like failure of an error the mesh raised (a MeshError, or any error carrying a failure code), else undefined. */
export function meshFailureOf(err: unknown): { code: FailureCode; message: string; retryable: boolean; details?: JsonObject } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; message?: unknown; retryable?: unknown; details?: unknown };
  if (!isFailureCode(e.code)) return undefined;
  const details = typeof e.details === 'object' && e.details !== null && !Array.isArray(e.details) ? (e.details as JsonObject) : undefined;
  return { code: e.code, message: String(e.message ?? ''), retryable: e.retryable === true, ...(details ? { details } : {}) };
}

/** The exit status for anything a command threw. Pure. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof ConnectFailedError) return { unreachable: EXIT_UNAVAILABLE, refused: EXIT_NOPERM, config: EXIT_CONFIG }[err.why];
  if (err instanceof InterruptedError) return EXIT_INTERRUPTED;
  if (err instanceof UsageError) return EXIT_USAGE;
  const failure = meshFailureOf(err);
  return failure ? FAILURE_EXIT_CODES[failure.code] : EXIT_ERROR;
}

/**
 * True when a wait ran out of its own time while the invocation goes on: a TIMEOUT whose `details.state` is a
 * state that is not final (MeshClientApi.wait), unlike an invocation that itself failed TIMEOUT.
 */
export function isStillRunning(err: unknown): boolean {
  const failure = meshFailureOf(err);
  const state = failure?.details?.['state'];
  return failure?.code === FailureCode.TIMEOUT && isRequestState(state) && !isFinalState(state);
}

/** The exit status table, as printed at the end of `taskmesh --help` and in libs/cli/README.md. */
export function exitCodesHelp(): string {
  const rows: Array<[number, string]> = [
    [EXIT_OK, 'success'],
    [EXIT_ERROR, 'an error that is not a mesh failure (e.g. the connection was lost)'],
    [EXIT_USAGE, 'usage error: bad flag, command or argument (the command\'s help is printed)'],
    ...Object.entries(FAILURE_EXIT_CODES).map(([code, status]): [number, string] => [status, code]),
    [EXIT_UNAVAILABLE, 'NATS unreachable'],
    [EXIT_STILL_RUNNING, 'wait: --timeout ran out, the invocation goes on'],
    [EXIT_NOPERM, 'NATS refused the credentials'],
    [EXIT_CONFIG, 'connection options that cannot work (e.g. an unreadable --creds file)'],
    [EXIT_INTERRUPTED, 'interrupted (Ctrl-C)'],
  ];
  return ['Exit status:', ...rows.map(([status, what]) => `  ${String(status).padStart(3)}  ${what}`)].join('\n');
}
