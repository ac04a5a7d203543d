import { isFinalState, RequestState } from './states.js';
import { recordResponse, type InvocationRecord } from './invocation.record.js';
import type { ResponseMessage } from './response.message.js';

/**
 * How far an invocation got, judged from its record and the last event reported about it:
 * - `final`: its outcome (as a call answers it);
 * - `started`: some worker started it (running, recovering after its worker was lost, or waiting for a retry):
 *   it is carried to its outcome whatever its deadline;
 * - `waiting`: accepted and never started: it starts before its deadline or never;
 * - `unknown`: no record (never accepted, or purged).
 */
export type InvocationProgress =
  | { kind: 'final'; response: ResponseMessage }
  | { kind: 'started' }
  | { kind: 'waiting' }
  | { kind: 'unknown' };

/**
 * Judges an invocation's progress. Pure. The last event can be ahead of the record (the orchestrator writes the
 * record after it consumed the event), so a final event counts as the outcome, unless it came from an attempt
 * older than the record's (a frozen worker's late result, which the record rejects).
 */
export function invocationProgress(record: InvocationRecord | undefined, last: ResponseMessage | undefined): InvocationProgress {
  if (record !== undefined && isFinalState(record.state)) return { kind: 'final', response: recordResponse(record) };
  // Redriven (docs/PROTOCOL.md section 4.12): the attempts before the redrive, and the redrive's own EVENT, say
  // nothing about the new run; until a new attempt starts, it waits.
  const before = record?.redrive?.afterAttempt;
  const current = last !== undefined && (before === undefined || (last.attempt !== undefined && last.attempt > before)) ? last : undefined;
  if (current?.isFinal && (current.attempt === undefined || current.attempt >= (record?.attempts ?? 0))) return { kind: 'final', response: current };
  if (record !== undefined && (record.attempts > (before ?? 0) || record.state === RequestState.RUNNING)) return { kind: 'started' };
  if (current !== undefined && reportsAStart(current)) return { kind: 'started' };
  return record === undefined ? { kind: 'unknown' } : { kind: 'waiting' };
}

/** RUNNING is the first thing a worker reports about an attempt it starts; progress and a retry's WAITING follow it. */
function reportsAStart(event: ResponseMessage): boolean {
  if (event.state === RequestState.RUNNING || event.state === 'EVENT') return true;
  return event.state === RequestState.WAITING && event.attempt !== undefined;
}
