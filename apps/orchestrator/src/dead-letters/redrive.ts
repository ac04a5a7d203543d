import { INVOCATION_ID_PATTERN, InvalidMessageError, redriveTransition, RequestState, TASK_NAME_PATTERN, type InvocationRecord, type RedriveMark } from '@taskmesh/protocol';

/** What `mesh.deadletters.redrive` was asked: one invocation's dead letter, or every dead letter (of one task). */
export type RedriveTarget = { id: string } | { all: true; task?: string };

/** Reads and checks a redrive request body (already JSON-decoded). Pure; throws InvalidMessageError listing the problems. */
export function parseRedriveTarget(body: unknown): RedriveTarget {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad(['body: must be a JSON object: {"id": "..."} or {"all": true, "task"?: "..."}']);
  const f = body as Record<string, unknown>;
  const problems = Object.keys(f).filter((k) => !['id', 'all', 'task'].includes(k)).map((k) => `unknown field ${JSON.stringify(k)}`);
  if (f['id'] !== undefined) {
    if (f['all'] !== undefined || f['task'] !== undefined) problems.push('id: give either id, or all (with an optional task), not both');
    if (typeof f['id'] !== 'string' || !INVOCATION_ID_PATTERN.test(f['id'])) problems.push(`id: must match ${INVOCATION_ID_PATTERN}`);
    if (problems.length > 0) throw bad(problems);
    return { id: f['id'] as string };
  }
  if (f['all'] !== true) problems.push('all: must be true when no id is given');
  if (f['task'] !== undefined && (typeof f['task'] !== 'string' || !TASK_NAME_PATTERN.test(f['task']))) problems.push('task: must be a task name');
  if (problems.length > 0) throw bad(problems);
  return f['task'] === undefined ? { all: true } : { all: true, task: f['task'] as string };
}

/** What to do with one dead letter of an invocation. */
export type RedriveDecision =
  /** Write this record (the fence), then queue the work. */
  | { kind: 'redrive'; record: InvocationRecord }
  /**
   * This dead letter's redrive is recorded, no attempt has started since, and the dead letter is still there: the
   * redrive that wrote the record may not have queued the work yet (it races this one, or its orchestrator stopped
   * in between). Queue it again under the same message ids, which the streams store once.
   */
  | { kind: 'requeue'; mark: RedriveMark }
  | { kind: 'skip'; reason: string };

/**
 * Decides the redrive of the dead letter `deadLetterSeq` of an invocation whose record is `record`. Pure. Only a
 * FAILURE is reopened (REDRIVE_TRANSITION), and only by a dead letter newer than the one its last redrive put back:
 * one redrive per dead letter. The new record waits (WAITING) with its attempts kept, so the next attempt numbers on,
 * without its deadline (an operator asked for it to run) or its outcome, and with the redrive mark that fences off
 * the reports of the attempts before. A redrive of the same dead letter while its record still waits for that
 * attempt is a requeue, within `requeueWithinMs` of the first.
 */
export function redriveRecord(record: InvocationRecord | undefined, deadLetterSeq: number, at: string, requeueWithinMs: number): RedriveDecision {
  if (!record) return { kind: 'skip', reason: 'no record: it aged out of the invocations bucket, or was never recorded' };
  const mark = record.redrive;
  if (mark !== undefined && deadLetterSeq <= mark.deadLetterSeq) {
    // Only within the streams' duplicate window (`requeueWithinMs` is less), where a second copy is dropped.
    const unstarted = deadLetterSeq === mark.deadLetterSeq && record.state === RequestState.WAITING && record.attempts === mark.afterAttempt;
    if (unstarted && Date.parse(at) - Date.parse(mark.at) < requeueWithinMs) return { kind: 'requeue', mark };
    return { kind: 'skip', reason: 'already redriven' };
  }
  if (record.state !== RequestState.FAILURE) return { kind: 'skip', reason: `it is ${record.state}, not failed` };
  const { failure: _failure, finishedAt: _finishedAt, result: _result, deadline: _deadline, registration: _registration, ...kept } = record;
  return {
    kind: 'redrive',
    record: {
      ...kept, state: redriveTransition(record.state),
      redrive: { deadLetterSeq, afterAttempt: record.attempts, at, count: (record.redrive?.count ?? 0) + 1 },
    },
  };
}

function bad(problems: string[]): InvalidMessageError {
  return new InvalidMessageError(`invalid request: ${problems.join('; ')}`, problems);
}
