import { parseMessage, type MessageSpec } from './codec.js';
import { DISPATCH_ID_PATTERN, IsRecurrenceShape, MAX_DISPATCH_DURATION_MS, MAX_TIMEZONE_LENGTH, MISFIRE_POLICIES, MisfirePolicy, asValidationFailure, dropUndefined, recurrenceShapeProblem, type DispatchRecurrence } from './dispatch.message.js';
import type { JsonValue } from './json.js';
import { MAX_KEY_LENGTH, TASK_NAME_PATTERN } from './limits.js';
import { IsBool, IsIntBetween, IsIsoInstant, IsJson, IsOneOf, IsStringLength, MatchesPattern, Optional } from './validators.js';

/**
 * The body of `<p>.dispatches.create` (DESIGN 3.4): `{task, args?, key?, start, duration?, recurrence?, timezone?,
 * active?, dryRun?, misfire?, id?}`. Field problems are VALIDATION_FAILED naming the field; whether the recurrence
 * fires and the task exists is judged by the scheduler.
 */
export class DispatchCreateRequest {
  /** Caller-chosen id (DISPATCH_ID_PATTERN); generated when absent. */
  @Optional()
  @MatchesPattern(DISPATCH_ID_PATTERN)
  id?: string;

  @MatchesPattern(TASK_NAME_PATTERN)
  task!: string;

  /** null when absent. */
  @IsJson()
  args!: JsonValue;

  @Optional()
  @IsStringLength(1, MAX_KEY_LENGTH)
  key?: string;

  @IsIsoInstant()
  start!: string;

  @Optional()
  @IsIntBetween(1, MAX_DISPATCH_DURATION_MS)
  duration?: number;

  @Optional()
  @IsRecurrenceShape()
  recurrence?: DispatchRecurrence;

  @Optional()
  @IsStringLength(1, MAX_TIMEZONE_LENGTH)
  timezone?: string;

  /** Default true. */
  @IsBool()
  active!: boolean;

  /** Default false. */
  @IsBool()
  dryRun!: boolean;

  /** Default `skip`. */
  @IsOneOf(MISFIRE_POLICIES)
  misfire!: MisfirePolicy;

  /** Reads a create body; VALIDATION_FAILED naming each bad field, BAD_REQUEST when the body is unreadable. */
  static parse(raw: unknown): DispatchCreateRequest {
    return asValidationFailure('dispatch', raw, (r) => parseMessage(r, CREATE_SPEC));
  }
}

const CREATE_SPEC: MessageSpec<DispatchCreateRequest> = {
  what: 'dispatch',
  ctor: DispatchCreateRequest,
  fields: ['id', 'task', 'args', 'key', 'start', 'duration', 'recurrence', 'timezone', 'active', 'dryRun', 'misfire', 'v'],
  optional: ['id', 'key', 'duration', 'recurrence', 'timezone', 'v'],
  versioned: true,
  versionOptional: true,
  finish: (r, _record, problems) => {
    delete (r as { v?: unknown }).v;
    if (r.args === undefined) r.args = null;
    if (r.active === undefined || (r.active as unknown) === null) r.active = true;
    if (r.dryRun === undefined || (r.dryRun as unknown) === null) r.dryRun = false;
    if (r.misfire === undefined || (r.misfire as unknown) === null) r.misfire = MisfirePolicy.Skip;
    if (r.recurrence !== undefined) {
      const problem = recurrenceShapeProblem(r.recurrence);
      if (problem !== undefined) problems.push(`recurrence: ${problem}`);
    }
    dropUndefined(r, ['id', 'key', 'duration', 'recurrence', 'timezone']);
  },
};
