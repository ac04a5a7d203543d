import { Failure, FailureCode, isFinalState, RequestState, type InvocationRecord } from '@taskmesh/protocol';

/** What the janitor does with one record. */
export type SweepAction =
  | { kind: 'keep' }
  /** Still waiting past its deadline, never started: no worker took it in time. Final TIMEOUT; it must never start. */
  | { kind: 'expire'; record: InvocationRecord }
  /** Final and older than the purge age: delete it. */
  | { kind: 'purge' };

/** A waiting record is expired this long after its deadline, so a worker that took it just in time wins. */
export const EXPIRY_GRACE_MS = 1000;

/** Decides what to do with a record at wall-clock time `now` (epoch ms). Pure. */
export function sweep(record: InvocationRecord, now: number, purgeAfterMs: number): SweepAction {
  if (isFinalState(record.state)) {
    const finished = Date.parse(record.finishedAt ?? record.createdAt);
    return Number.isFinite(finished) && now - finished >= purgeAfterMs ? { kind: 'purge' } : { kind: 'keep' };
  }
  // Only work that never started: a WAITING record with attempts ran before and waits for its retry, which is
  // carried to its outcome like the recovery of a lost worker's work (the deadline bounds the first start).
  if (record.state === RequestState.WAITING && record.attempts === 0 && record.deadline !== undefined && now > record.deadline + EXPIRY_GRACE_MS) {
    return {
      kind: 'expire',
      record: {
        ...record, state: RequestState.FAILURE, finishedAt: new Date(now).toISOString(),
        failure: Failure.create(FailureCode.TIMEOUT, `no worker started it before its deadline ${new Date(record.deadline).toISOString()}`),
      },
    };
  }
  return { kind: 'keep' };
}
