import { ValidateBy } from 'class-validator';
import { parseMessage, type MessageSpec } from './codec.js';
import { InvalidMessageError, ProtocolVersionError, ValidationFailedError } from './errors.js';
import { isPlainObject, type JsonValue } from './json.js';
import { MAX_KEY_LENGTH, TASK_NAME_PATTERN } from './limits.js';
import { IsBool, IsConstant, IsIntBetween, IsIsoInstant, IsJson, IsOneOf, IsStringLength, MatchesPattern, Optional } from './validators.js';
import { PROTOCOL_VERSION } from './version.js';

/**
 * Dispatch ids are subject tokens (`<p>.events.dispatch.<id>`) and part of invocation ids
 * (`dispatch:<id>:<occurrence epoch ms>`, at most 9 + 64 + 1 + 16 characters, within the 128 of an invocation id),
 * hence no `:`.
 */
export const DISPATCH_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Longest duration of one occurrence (31 days): longer "runs" are better modelled as a dispatch with no end. */
export const MAX_DISPATCH_DURATION_MS = 31 * 86_400_000;

/** Longest RRULE text accepted: real rules are a few dozen characters; the bound keeps parsing cheap. */
export const MAX_RRULE_LENGTH = 1_024;

/** Longest cron expression accepted (six fields with lists fit easily). */
export const MAX_CRON_LENGTH = 256;

/** Longest IANA time zone name (`America/Argentina/ComodRivadavia` is 32). */
export const MAX_TIMEZONE_LENGTH = 64;

/** Invocation ids of dispatch occurrences start with this (`dispatch:<id>:<occurrence epoch ms>`). */
export const DISPATCH_INVOCATION_PREFIX = 'dispatch:';

/** The invocation id of one occurrence of a dispatch: the same occurrence always gets the same id (G6). */
export function dispatchInvocationId(dispatchId: string, occurrenceMs: number): string {
  return `${DISPATCH_INVOCATION_PREFIX}${dispatchId}:${occurrenceMs}`;
}

/** What the scheduler does with occurrences that passed while no scheduler was leading (DESIGN 3.4). */
export const MisfirePolicy = {
  /** Missed occurrences are not fired; one whose run (start + duration) is still going is started late. The default. */
  Skip: 'skip',
  /** The latest missed occurrence within the catch-up window is fired once; older ones are skipped. */
  FireOnce: 'fire-once',
  /** Every missed occurrence within the catch-up window is fired, oldest first. */
  FireAll: 'fire-all',
} as const;

/** One of the misfire policies. */
export type MisfirePolicy = (typeof MisfirePolicy)[keyof typeof MisfirePolicy];

/** The misfire policies, in declaration order. */
export const MISFIRE_POLICIES: readonly MisfirePolicy[] = Object.values(MisfirePolicy);

/** A recurrence: an RFC 5545 RRULE (`FREQ=DAILY;COUNT=3`, optionally prefixed `RRULE:`) or a cron expression. */
export type DispatchRecurrence = string | { cron: string };

/**
 * Why `value` is not a recurrence's shape, or undefined. Only the shape is judged here: whether the rule parses
 * and ever fires is the scheduler's check (it owns the recurrence libraries).
 */
export function recurrenceShapeProblem(value: unknown): string | undefined {
  if (typeof value === 'string') {
    return value.length >= 1 && value.length <= MAX_RRULE_LENGTH ? undefined : `must be an RRULE of 1 to ${MAX_RRULE_LENGTH} characters`;
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    const extra = keys.find((k) => k !== 'cron');
    if (extra !== undefined) return `unknown field ${JSON.stringify(extra.slice(0, 64))} (a recurrence is an RRULE string or {"cron": "..."})`;
    const cron = value['cron'];
    if (typeof cron !== 'string' || cron.trim().length === 0 || cron.length > MAX_CRON_LENGTH) return `cron: must be a cron expression of 1 to ${MAX_CRON_LENGTH} characters`;
    return undefined;
  }
  return 'must be an RRULE string or {"cron": "..."}';
}

/** Field is a recurrence's shape (recurrenceShapeProblem); checked by the specs' `finish` on the hot path. */
export function IsRecurrenceShape(): PropertyDecorator {
  return ValidateBy({
    name: 'isRecurrenceShape',
    validator: {
      validate: (value: unknown) => value === undefined || value === null || recurrenceShapeProblem(value) === undefined,
      defaultMessage: (args) => `$property ${recurrenceShapeProblem(args?.value) ?? 'is invalid'}`,
    },
  });
}

/** The fields a dispatch is defined by (what create takes and update changes). */
export interface DispatchDefinition {
  task: string;
  args: JsonValue;
  key?: string;
  start: string;
  duration?: number;
  recurrence?: DispatchRecurrence;
  timezone?: string;
  active: boolean;
  dryRun: boolean;
  misfire: MisfirePolicy;
}

/**
 * A dispatch as stored in the dispatches bucket (key = id) and served by `<p>.dispatches.*`: a task with its
 * arguments, a start, an optional duration and recurrence, and the flags that steer it.
 */
export class DispatchMessage implements DispatchDefinition {
  /** Protocol version. */
  @IsConstant(PROTOCOL_VERSION)
  v!: typeof PROTOCOL_VERSION;

  /** The dispatch's id (DISPATCH_ID_PATTERN). */
  @MatchesPattern(DISPATCH_ID_PATTERN)
  id!: string;

  /** The task fired at each occurrence. */
  @MatchesPattern(TASK_NAME_PATTERN)
  task!: string;

  /** The task's arguments (any JSON; null when absent). */
  @IsJson()
  args!: JsonValue;

  /** Ordering key of the invocations (same key, one at a time). */
  @Optional()
  @IsStringLength(1, MAX_KEY_LENGTH)
  key?: string;

  /** The first occurrence (ISO-8601 instant); with a recurrence, the rule's DTSTART. */
  @IsIsoInstant()
  start!: string;

  /** How long each occurrence runs, in ms (a `stopped` event at its end); absent = an instant, `started` only. */
  @Optional()
  @IsIntBetween(1, MAX_DISPATCH_DURATION_MS)
  duration?: number;

  /** RRULE string or `{cron}`; absent = one occurrence at `start`. */
  @Optional()
  @IsRecurrenceShape()
  recurrence?: DispatchRecurrence;

  /** IANA time zone the recurrence's wall-clock times are read in (DST-aware); absent = UTC. */
  @Optional()
  @IsStringLength(1, MAX_TIMEZONE_LENGTH)
  timezone?: string;

  /** An inactive dispatch is kept but never fires. */
  @IsBool()
  active!: boolean;

  /** Passed to the task as `ctx.dispatch.dryRun`: the task should only pretend. */
  @IsBool()
  dryRun!: boolean;

  /** What to do with occurrences missed while no scheduler led. */
  @IsOneOf(MISFIRE_POLICIES)
  misfire!: MisfirePolicy;

  /** When it was created (ISO-8601, the serving scheduler's clock). */
  @IsIsoInstant()
  createdAt!: string;

  /** When its definition last changed (= createdAt until the first update); occurrences before it are never "missed". */
  @IsIsoInstant()
  updatedAt!: string;

  /** Reads a stored or served dispatch; throws InvalidMessageError listing every problem. */
  static parse(raw: unknown): DispatchMessage {
    return parseMessage(raw, DISPATCH_SPEC);
  }

  /** A validated dispatch from its fields (`v` implied). */
  static create(fields: Omit<DispatchMessage, 'v'>): DispatchMessage {
    return parseMessage({ ...fields, v: PROTOCOL_VERSION }, DISPATCH_SPEC);
  }
}

const DISPATCH_FIELDS = ['v', 'id', 'task', 'args', 'key', 'start', 'duration', 'recurrence', 'timezone', 'active', 'dryRun', 'misfire', 'createdAt', 'updatedAt'] as const;

const DISPATCH_SPEC: MessageSpec<DispatchMessage> = {
  what: 'dispatch',
  ctor: DispatchMessage,
  fields: DISPATCH_FIELDS,
  optional: ['key', 'duration', 'recurrence', 'timezone'],
  versioned: true,
  finish: (d, _record, problems) => {
    if (d.args === undefined) d.args = null;
    if (d.recurrence !== undefined) {
      const problem = recurrenceShapeProblem(d.recurrence);
      if (problem !== undefined) problems.push(`recurrence: ${problem}`);
    }
    dropUndefined(d, ['key', 'duration', 'recurrence', 'timezone']);
  },
};

/** Removes optional fields left undefined, so instances compare and serialise like what the sender wrote. */
export function dropUndefined(target: object, fields: readonly string[]): void {
  const t = target as Record<string, unknown>;
  for (const f of fields) if (t[f] === undefined) delete t[f];
}

/**
 * Runs `parse` and turns its field problems into VALIDATION_FAILED (naming each bad field), while an
 * unreadable body (not JSON, not an object) or another protocol version stays BAD_REQUEST.
 */
export function asValidationFailure<T>(what: string, raw: unknown, parse: (raw: unknown) => T): T {
  try {
    return parse(raw);
  } catch (err) {
    if (!(err instanceof InvalidMessageError) || err instanceof ProtocolVersionError) throw err;
    if (err.problems.every((p) => p.startsWith('body'))) throw err;
    throw new ValidationFailedError(`invalid ${what}: ${err.problems.join('; ')}`, err.problems);
  }
}
