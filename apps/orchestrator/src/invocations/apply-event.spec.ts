import { Failure, FailureCode, newInvocationRecord, ResponseMessage, type InvocationRecord } from '@taskmesh/protocol';
import { applyEvent } from './apply-event.js';

const T0 = '2026-11-23T00:00:00.000Z';
const waiting = (): InvocationRecord => newInvocationRecord({ id: 'inv-1', task: 'echo', createdAt: T0 });
const running = (attempt: number, worker = 'w1') => ResponseMessage.state('inv-1', 'RUNNING', { attempt, worker, at: `2026-11-23T00:00:0${attempt}.000Z` });
const success = (attempt: number, result: unknown = 42, worker = 'w1') => ResponseMessage.success('inv-1', result, { attempt, worker, at: '2026-11-23T00:00:09.000Z' });
const failure = (attempt: number) => ResponseMessage.failure('inv-1', Failure.create(FailureCode.TASK_FAILED, 'boom'), { attempt, worker: 'w1' });
const apply = (record: InvocationRecord, ...events: ResponseMessage[]) => events.reduce((r, e) => applyEvent(r, e).record, record);

describe(applyEvent.name, () => {
  it('records a run: WAITING -> RUNNING -> SUCCESS with attempts, worker and times', () => {
    const r = apply(waiting(), running(1), success(1));
    expect(r).toMatchObject({ state: 'SUCCESS', attempts: 1, worker: 'w1', result: 42, startedAt: '2026-11-23T00:00:01.000Z', finishedAt: '2026-11-23T00:00:09.000Z' });
  });

  it('records a failure with its failure', () => {
    expect(apply(waiting(), running(1), failure(1))).toMatchObject({ state: 'FAILURE', failure: { code: 'TASK_FAILED', message: 'boom' } });
  });

  it('counts a second attempt after a lost worker', () => {
    // w1 died while running; JetStream redelivered to w2 (attempt 2).
    const r = apply(waiting(), running(1, 'w1'), running(2, 'w2'), success(2, 'ok', 'w2'));
    expect(r).toMatchObject({ state: 'SUCCESS', attempts: 2, worker: 'w2', result: 'ok' });
  });

  it('rejects the late result of a superseded attempt (a frozen worker woke up)', () => {
    // Attempt 2 is running elsewhere when attempt 1 reports success.
    const r = apply(waiting(), running(1), running(2, 'w2'));
    const late = applyEvent(r, success(1, 'stale'));
    expect(late.verdict).toBe('rejected');
    expect(late.record).toMatchObject({ state: 'RUNNING', attempts: 2, rejected: 1 });
    expect(late.record.result).toBeUndefined();
  });

  it('keeps exactly one final outcome: anything after it is rejected, an identical repeat is a no-op', () => {
    const done = apply(waiting(), running(1), success(1, 'first'));
    expect(applyEvent(done, success(1, 'first')).verdict).toBe('unchanged');
    expect(applyEvent(done, failure(1))).toMatchObject({ verdict: 'rejected', record: { state: 'SUCCESS', result: 'first' } });
    expect(applyEvent(done, running(2)).verdict).toBe('rejected');
    expect(applyEvent(done, success(2, 'second')).record.result).toBe('first');
  });

  it('accepts a final outcome whose RUNNING report was lost', () => {
    expect(apply(waiting(), success(1))).toMatchObject({ state: 'SUCCESS', attempts: 1, startedAt: '2026-11-23T00:00:09.000Z' });
    expect(apply(waiting(), failure(1))).toMatchObject({ state: 'FAILURE', attempts: 1 });
  });

  it('ignores progress events and repeats', () => {
    const r = apply(waiting(), running(1));
    expect(applyEvent(r, ResponseMessage.event('inv-1', 'progress', { step: 1 }, { attempt: 1 })).verdict).toBe('unchanged');
    expect(applyEvent(r, running(1)).verdict).toBe('unchanged');
    expect(applyEvent(r, ResponseMessage.waiting('inv-1')).verdict).toBe('unchanged');
  });

  it('goes back to WAITING when a retry is scheduled, and counts the next attempt', () => {
    // Attempt 1 failed retryably; the worker scheduled attempt 2.
    const retrying = apply(waiting(), running(1), ResponseMessage.state('inv-1', 'WAITING', { attempt: 1, worker: 'w1' }));
    expect(retrying).toMatchObject({ state: 'WAITING', attempts: 1 });
    expect(apply(retrying, running(2), success(2))).toMatchObject({ state: 'SUCCESS', attempts: 2 });
    // A WAITING report of an older attempt changes nothing.
    const r2 = apply(waiting(), running(1), running(2));
    expect(applyEvent(r2, ResponseMessage.state('inv-1', 'WAITING', { attempt: 1 })).verdict).toBe('unchanged');
  });

  it('never mutates its input', () => {
    const r = waiting();
    const copy = structuredClone(r);
    apply(r, running(1), success(1));
    expect(r).toEqual(copy);
  });

  it('after a redrive, refuses every report of the attempts before it and records the new attempt', () => {
    // Dead-lettered after 3 attempts and redriven; a late FAILURE of attempt 3 (a redelivered event) arrives.
    const dead = apply(waiting(), running(3), failure(3));
    const redriven: InvocationRecord = {
      ...dead, state: 'WAITING', failure: undefined, finishedAt: undefined, redrive: { deadLetterSeq: 9, afterAttempt: 3, at: T0, count: 1 },
    };
    expect(applyEvent(redriven, failure(3))).toMatchObject({ verdict: 'rejected', record: { state: 'WAITING', rejected: 1 } });
    expect(applyEvent(redriven, running(2)).verdict).toBe('rejected');
    const r = apply(redriven, running(4, 'w2'), success(4, 'ok', 'w2'));
    expect(r).toMatchObject({ state: 'SUCCESS', attempts: 4, worker: 'w2', result: 'ok', redrive: { count: 1 } });
    // The redrive's own EVENT changes nothing.
    expect(applyEvent(redriven, ResponseMessage.event('inv-1', 'redriven', { deadLetterSeq: 9 })).verdict).toBe('unchanged');
  });
});

