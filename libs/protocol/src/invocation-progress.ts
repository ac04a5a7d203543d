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
  if (last?.isFinal && (last.attempt === undefined || last.attempt >= (record?.attempts ?? 0))) return { kind: 'final', response: last };
  if (record !== undefined && (record.attempts > 0 || record.state === RequestState.RUNNING)) return { kind: 'started' };
  if (last !== undefined && reportsAStart(last)) return { kind: 'started' };
  return record === undefined ? { kind: 'unknown' } : { kind: 'waiting' };
}

/** RUNNING is the first thing a worker reports about an attempt it starts; progress and a retry's WAITING follow it. */
function reportsAStart(event: ResponseMessage): boolean {
  if (event.state === RequestState.RUNNING || event.state === 'EVENT') return true;
  return event.state === RequestState.WAITING && event.attempt !== undefined;
}
