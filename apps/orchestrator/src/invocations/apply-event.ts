import { canTransition, isFinalState, RequestState, type InvocationRecord, type ResponseMessage } from '@taskmesh/protocol';

/** What applying one reported event did to a record. */
export type Verdict =
  /** The record changed. */
  | 'applied'
  /** Nothing to change: a repeat, or an EVENT (progress) that does not change state. */
  | 'unchanged'
  /** From an attempt older than the record's, or arriving after the final outcome: refused and counted. */
  | 'rejected';

/**
 * Applies a worker's reported event (RUNNING, SUCCESS, FAILURE, EVENT) to an invocation record. Pure.
 *
 * Fencing by attempt: the attempt number is JetStream's delivery count, so a worker that froze and woke up after
 * its message was redelivered reports an older attempt than the record's; its transitions are refused. A final
 * record never changes again through events: exactly one final outcome per run of attempts (only an operator's
 * redrive reopens a FAILURE, and the attempts before it are refused from then on).
 */
export function applyEvent(record: InvocationRecord, event: ResponseMessage): { record: InvocationRecord; verdict: Verdict } {
  const state = event.state;
  if (state === 'EVENT' || state === RequestState.PENDING) return { record, verdict: 'unchanged' };
  const attempt = event.attempt ?? 1;
  if (state === RequestState.WAITING) {
    // A retry was scheduled after attempt `attempt` failed retryably: RUNNING -> WAITING until the next one.
    const retrying = event.attempt !== undefined && record.state === RequestState.RUNNING && record.attempts === attempt;
    return retrying ? { record: { ...record, state: RequestState.WAITING }, verdict: 'applied' } : { record, verdict: 'unchanged' };
  }
  // Redriven: every attempt up to the redrive belongs to the outcome it replaced (a late or repeated report of it
  // must not end the new attempt's wait).
  if (record.redrive !== undefined && attempt <= record.redrive.afterAttempt) return reject(record);
  if (isFinalState(record.state)) {
    // Cancelled or expired while waiting (attempts 0): the worker that later receives it reports the same.
    const settledAgain = record.attempts === 0 && record.failure !== undefined && record.failure.code === event.failure?.code;
    const same = settledAgain || (record.state === state && record.attempts === attempt);
    return same ? { record, verdict: 'unchanged' } : reject(record);
  }
  if (attempt < record.attempts) return reject(record);
  const at = event.at ?? new Date().toISOString();
  if (state === RequestState.RUNNING) {
    if (record.state === RequestState.RUNNING && record.attempts === attempt) return { record, verdict: 'unchanged' };
    // A newer attempt started (the previous worker was lost): RUNNING -> WAITING -> RUNNING.
    return { record: { ...record, state: RequestState.RUNNING, attempts: attempt, worker: event.worker, startedAt: at }, verdict: 'applied' };
  }
  // SUCCESS or FAILURE. A final outcome whose RUNNING report was lost still counts as having run.
  const from = record.state === RequestState.WAITING && state === RequestState.SUCCESS ? RequestState.RUNNING : record.state;
  if (!canTransition(from, state)) return reject(record);
  const final: InvocationRecord = {
    ...record, state, attempts: Math.max(attempt, record.attempts), worker: event.worker ?? record.worker, finishedAt: at,
    startedAt: record.startedAt ?? at,
  };
  if (state === RequestState.SUCCESS) final.result = event.result ?? null;
  else if (event.failure) final.failure = event.failure;
  return { record: final, verdict: 'applied' };
}

function reject(record: InvocationRecord): { record: InvocationRecord; verdict: Verdict } {
  return { record: { ...record, rejected: (record.rejected ?? 0) + 1 }, verdict: 'rejected' };
}
