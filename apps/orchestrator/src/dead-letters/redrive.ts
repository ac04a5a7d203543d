import { INVOCATION_ID_PATTERN, InvalidMessageError, redriveTransition, RequestState, TASK_NAME_PATTERN, type InvocationRecord } from '@taskmesh/protocol';

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

/** What to do with one dead letter of an invocation: write this record (then queue the work), or skip it and why. */
export type RedriveDecision = { kind: 'redrive'; record: InvocationRecord } | { kind: 'skip'; reason: string };

/**
 * Decides the redrive of the dead letter `deadLetterSeq` of an invocation whose record is `record`. Pure. Only a
 * FAILURE is reopened (REDRIVE_TRANSITION), and only by a dead letter newer than the one its last redrive put back:
 * one redrive per dead letter. The new record waits (WAITING) with its attempts kept, so the next attempt numbers on,
 * without its deadline (an operator asked for it to run) or its outcome, and with the redrive mark that fences off
 * the reports of the attempts before.
 */
export function redriveRecord(record: InvocationRecord | undefined, deadLetterSeq: number, at: string): RedriveDecision {
  if (!record) return { kind: 'skip', reason: 'no record: it aged out of the invocations bucket, or was never recorded' };
  if (record.redrive !== undefined && deadLetterSeq <= record.redrive.deadLetterSeq) return { kind: 'skip', reason: 'already redriven' };
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
