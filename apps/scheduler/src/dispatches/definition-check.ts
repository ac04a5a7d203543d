import { DispatchMessage, ValidationFailedError, type DispatchDefinition } from '#protocol';
import { compileSchedule, RecurrenceError } from '../timeline/recurrence.js';

/** How far in the past a one-off dispatch may start (a slow caller, clock skew) and still be accepted. */
export const MAX_START_IN_PAST_MS = 60_000;

/**
 * Checks what the wire rules cannot: the recurrence and time zone compile, and the dispatch fires at least once
 * more from `now` (a rule that never fires, or a one-off start in the past, is refused with the reason).
 * Throws ValidationFailedError naming the field. Pure.
 */
export function checkDefinition(d: DispatchDefinition, nowMs: number): void {
  let schedule;
  try {
    schedule = compileSchedule(d);
  } catch (err) {
    if (err instanceof RecurrenceError) throw invalid(`${err.field}: ${err.message}`);
    throw err;
  }
  const startMs = Date.parse(d.start);
  if (schedule.atOrAfter(startMs) === undefined) throw invalid('recurrence: never fires (no occurrence at or after start)');
  // An occurrence still running now counts: it starts (late) at once.
  const from = nowMs - Math.max(d.duration ?? 0, d.recurrence === undefined ? MAX_START_IN_PAST_MS : 0);
  if (schedule.atOrAfter(from) !== undefined) return;
  if (d.recurrence === undefined) {
    throw invalid(`start: is more than ${MAX_START_IN_PAST_MS / 1000} s in the past and there is no recurrence: the dispatch would never fire`);
  }
  throw invalid('recurrence: has no occurrence left after now: the dispatch would never fire');
}

/** The definition part of a dispatch (what create takes and update changes). */
export function definitionOf(d: DispatchMessage): DispatchDefinition {
  const { task, args, key, start, duration, recurrence, timezone, active, dryRun, misfire } = d;
  return { task, args, key, start, duration, recurrence, timezone, active, dryRun, misfire };
}

function invalid(problem: string): ValidationFailedError {
  return new ValidationFailedError(`invalid dispatch: ${problem}`, [problem]);
}
