import { Failure, FailureCode, InvalidMessageError, newInvocationRecord, type InvocationRecord } from '@taskmesh/protocol';
import { parseRedriveTarget, redriveRecord } from './redrive.js';

const T0 = '2026-12-03T10:00:00.000Z';
const AT = '2026-12-03T11:00:00.000Z';
/** Half the default duplicate window. */
const WITHIN = 60_000;
const failed = (over: Partial<InvocationRecord> = {}): InvocationRecord => ({
  ...newInvocationRecord({ id: 'inv-1', task: 'fail', createdAt: T0, deadline: Date.parse(T0) + 30_000 }),
  state: 'FAILURE', attempts: 3, worker: 'w1', startedAt: T0, finishedAt: T0, registration: 'reg-1',
  failure: Failure.create(FailureCode.TASK_FAILED, 'flaky', { retryable: true }), ...over,
});

describe(parseRedriveTarget.name, () => {
  it('reads {id} and {all, task?}', () => {
    expect(parseRedriveTarget({ id: 'inv-1' })).toEqual({ id: 'inv-1' });
    expect(parseRedriveTarget({ all: true })).toEqual({ all: true });
    expect(parseRedriveTarget({ all: true, task: 'fail' })).toEqual({ all: true, task: 'fail' });
  });

  it.each([
    [null, /body: must be a JSON object/], [[], /body: must be a JSON object/], [{}, /all: must be true/], [{ all: false }, /all: must be true/],
    [{ id: 'a b' }, /id: must match/], [{ id: 'x', all: true }, /not both/], [{ id: 'x', task: 't' }, /not both/],
    [{ all: true, task: 'a.b' }, /task: must be a task name/], [{ all: true, limit: 3 }, /unknown field "limit"/],
  ])('refuses %j with BAD_REQUEST naming the problem', (body, problem) => {
    let thrown: unknown;
    try {
      parseRedriveTarget(body);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidMessageError);
    expect((thrown as InvalidMessageError).code).toBe('BAD_REQUEST');
    expect((thrown as InvalidMessageError).message).toMatch(problem);
  });
});

describe(redriveRecord.name, () => {
  it('reopens a FAILURE as WAITING with its attempts kept, without outcome, deadline or registration, and marks the redrive', () => {
    // Dead-lettered after 3 attempts (dead letter #12); an operator redrives it.
    const decision = redriveRecord(failed(), 12, AT, WITHIN);
    expect(decision.kind).toBe('redrive');
    const record = (decision as { record: InvocationRecord }).record;
    expect(record).toMatchObject({ id: 'inv-1', state: 'WAITING', attempts: 3, worker: 'w1', redrive: { deadLetterSeq: 12, afterAttempt: 3, at: AT, count: 1 } });
    for (const gone of ['failure', 'finishedAt', 'result', 'deadline', 'registration']) expect(record).not.toHaveProperty(gone);
  });

  it('counts redrives, and redrives each dead letter once', () => {
    // Redriven from #12, failed again and dead-lettered as #20.
    const again = failed({ redrive: { deadLetterSeq: 12, afterAttempt: 3, at: AT, count: 1 }, attempts: 6 });
    expect(redriveRecord(again, 20, AT, WITHIN)).toMatchObject({ kind: 'redrive', record: { redrive: { deadLetterSeq: 20, afterAttempt: 6, count: 2 } } });
    // #12 (left behind by a redrive that could not remove it) is history.
    expect(redriveRecord(again, 12, AT, WITHIN)).toEqual({ kind: 'skip', reason: 'already redriven' });
  });

  it('the loser of a race (or a retry of an interrupted redrive) requeues the same dead letter while no attempt has started, within the window', () => {
    const won = redriveRecord(failed(), 12, AT, WITHIN) as { record: InvocationRecord };
    const mark = won.record.redrive!;
    expect(redriveRecord(won.record, 12, AT, WITHIN)).toEqual({ kind: 'requeue', mark });
    const later = new Date(Date.parse(AT) + WITHIN - 1).toISOString();
    expect(redriveRecord(won.record, 12, later, WITHIN)).toEqual({ kind: 'requeue', mark });
    // Past the window a second copy would not be dropped; once the attempt started (or ended) it was queued.
    expect(redriveRecord(won.record, 12, new Date(Date.parse(AT) + WITHIN).toISOString(), WITHIN)).toEqual({ kind: 'skip', reason: 'already redriven' });
    expect(redriveRecord({ ...won.record, attempts: 4 }, 12, AT, WITHIN)).toEqual({ kind: 'skip', reason: 'already redriven' });
    expect(redriveRecord({ ...won.record, state: 'RUNNING' }, 12, AT, WITHIN)).toEqual({ kind: 'skip', reason: 'already redriven' });
    // An older dead letter of the invocation is history.
    expect(redriveRecord(won.record, 11, AT, WITHIN)).toEqual({ kind: 'skip', reason: 'already redriven' });
  });

  it('skips what is not a FAILURE: a SUCCESS or a missing record is not redriven', () => {
    expect(redriveRecord(failed({ state: 'SUCCESS', failure: undefined }), 12, AT, WITHIN)).toEqual({ kind: 'skip', reason: 'it is SUCCESS, not failed' });
    expect(redriveRecord(failed({ state: 'RUNNING' }), 12, AT, WITHIN)).toEqual({ kind: 'skip', reason: 'it is RUNNING, not failed' });
    expect(redriveRecord(undefined, 12, AT, WITHIN)).toMatchObject({ kind: 'skip', reason: expect.stringMatching(/^no record/) });
  });
});
