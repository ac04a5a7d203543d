import { parseMessage, type MessageSpec } from './codec.js';
import { DISPATCH_ID_PATTERN, IsRecurrenceShape, MAX_DISPATCH_DURATION_MS, MAX_TIMEZONE_LENGTH, MISFIRE_POLICIES, asValidationFailure, dropUndefined, recurrenceShapeProblem, type DispatchRecurrence, type MisfirePolicy } from './dispatch.message.js';
import type { JsonValue } from './json.js';
import { MAX_KEY_LENGTH, TASK_NAME_PATTERN } from './limits.js';
import { IsBool, IsIntBetween, IsIsoInstant, IsJson, IsOneOf, IsStringLength, MatchesPattern, Optional } from './validators.js';

/** The fields an update may remove by sending `null`. */
export const CLEARABLE_DISPATCH_FIELDS = ['key', 'duration', 'recurrence', 'timezone'] as const;
/** One of the fields an update may remove. */
export type ClearableDispatchField = (typeof CLEARABLE_DISPATCH_FIELDS)[number];

/**
 * The body of `<p>.dispatches.update`: `{id, ...changes}`. A field left out keeps its value; `null` removes
 * `key`, `duration`, `recurrence` or `timezone` (listed in `cleared`). `args: null` sets the arguments to null.
 */
export class DispatchUpdateRequest {
  @MatchesPattern(DISPATCH_ID_PATTERN)
  id!: string;

  @Optional()
  @MatchesPattern(TASK_NAME_PATTERN)
  task?: string;

  @Optional()
  @IsJson()
  args?: JsonValue;

  @Optional()
  @IsStringLength(1, MAX_KEY_LENGTH)
  key?: string;

  @Optional()
  @IsIsoInstant()
  start?: string;

  @Optional()
  @IsIntBetween(1, MAX_DISPATCH_DURATION_MS)
  duration?: number;

  @Optional()
  @IsRecurrenceShape()
  recurrence?: DispatchRecurrence;

  @Optional()
  @IsStringLength(1, MAX_TIMEZONE_LENGTH)
  timezone?: string;

  @Optional()
  @IsBool()
  active?: boolean;

  @Optional()
  @IsBool()
  dryRun?: boolean;

  @Optional()
  @IsOneOf(MISFIRE_POLICIES)
  misfire?: MisfirePolicy;

  /** The fields the body set to `null` (to remove them). Not a wire field. */
  cleared: ClearableDispatchField[] = [];

  /** Reads an update body; VALIDATION_FAILED naming each bad field, BAD_REQUEST when the body is unreadable. */
  static parse(raw: unknown): DispatchUpdateRequest {
    return asValidationFailure('dispatch update', raw, (r) => parseMessage(r, UPDATE_SPEC));
  }
}

const UPDATE_SPEC: MessageSpec<DispatchUpdateRequest> = {
  what: 'dispatch update',
  ctor: DispatchUpdateRequest,
  fields: ['id', 'task', 'args', 'key', 'start', 'duration', 'recurrence', 'timezone', 'active', 'dryRun', 'misfire', 'v'],
  optional: ['task', 'args', 'key', 'start', 'duration', 'recurrence', 'timezone', 'active', 'dryRun', 'misfire', 'v'],
  versioned: true,
  versionOptional: true,
  finish: (r, record, problems) => {
    delete (r as { v?: unknown }).v;
    r.cleared = CLEARABLE_DISPATCH_FIELDS.filter((f) => Object.hasOwn(record, f) && record[f] === null);
    // `args` is not optional in meaning: null is a value the task may get.
    if (Object.hasOwn(record, 'args') && record['args'] === null) r.args = null;
    if (r.recurrence !== undefined) {
      const problem = recurrenceShapeProblem(r.recurrence);
      if (problem !== undefined) problems.push(`recurrence: ${problem}`);
    }
    for (const f of ['task', 'start', 'active', 'dryRun', 'misfire'] as const) {
      if (Object.hasOwn(record, f) && record[f] === null) problems.push(`${f}: cannot be removed (null); leave it out to keep it`);
    }
    dropUndefined(r, ['task', 'key', 'start', 'duration', 'recurrence', 'timezone', 'active', 'dryRun', 'misfire']);
    if (!Object.hasOwn(record, 'args')) delete (r as { args?: unknown }).args;
  },
};
