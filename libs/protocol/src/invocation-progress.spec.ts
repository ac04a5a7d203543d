import { Failure, FailureCode } from './failure.js';
import { invocationProgress } from './invocation-progress.js';
import { newInvocationRecord, type InvocationRecord } from './invocation.record.js';
import { ResponseMessage } from './response.message.js';
import { RequestState } from './states.js';

const waiting = newInvocationRecord({ id: 'a', task: 'sleep', createdAt: '2026-01-01T00:00:00.000Z', deadline: 1 });
const running: InvocationRecord = { ...waiting, state: RequestState.RUNNING, attempts: 1, worker: 'w1' };
const success: InvocationRecord = { ...running, state: RequestState.SUCCESS, result: 42 };

describe(invocationProgress.name, () => {
  it('a final record is the outcome, whatever the stream says', () => {
    // A frozen worker's late result is the last event, but the record kept the other attempt's outcome.
    const late = ResponseMessage.success('a', 1, { attempt: 1 });
    expect(invocationProgress({ ...success, attempts: 2 }, late)).toMatchObject({ kind: 'final', response: { state: 'SUCCESS', data: { result: 42 }, attempt: 2 } });
  });

  it('a final event the orchestrator has not written yet is the outcome', () => {
    expect(invocationProgress(waiting, ResponseMessage.success('a', 7, { attempt: 1 }))).toMatchObject({ kind: 'final', response: { data: { result: 7 } } });
    expect(invocationProgress(running, ResponseMessage.success('a', 7, { attempt: 1 }))).toMatchObject({ kind: 'final' });
  });

  it('a final event from an attempt older than the record\'s is not the outcome (the record will reject it)', () => {
    expect(invocationProgress({ ...running, attempts: 2 }, ResponseMessage.success('a', 7, { attempt: 1 }))).toEqual({ kind: 'started' });
  });

  it('a final event without an attempt (the orchestrator\'s own) is the outcome', () => {
    const expired = ResponseMessage.failure('a', Failure.create(FailureCode.TIMEOUT, 'late'));
    expect(invocationProgress(running, expired)).toMatchObject({ kind: 'final' });
  });

  it('started: the record ran it, or a worker reported RUNNING, progress or a retry before the record caught up', () => {
    expect(invocationProgress(running, undefined)).toEqual({ kind: 'started' });
    // Waiting for its retry: WAITING again, with the attempt that failed.
    expect(invocationProgress({ ...running, state: RequestState.WAITING }, undefined)).toEqual({ kind: 'started' });
    expect(invocationProgress(waiting, ResponseMessage.state('a', 'RUNNING', { attempt: 1 }))).toEqual({ kind: 'started' });
    expect(invocationProgress(waiting, ResponseMessage.event('a', 'progress', { done: 1 }, { attempt: 1 }))).toEqual({ kind: 'started' });
    expect(invocationProgress(undefined, ResponseMessage.state('a', 'WAITING', { attempt: 1 }))).toEqual({ kind: 'started' });
  });

  it('waiting: accepted and never started (placed with a worker is not started); unknown: no record', () => {
    expect(invocationProgress(waiting, undefined)).toEqual({ kind: 'waiting' });
    expect(invocationProgress({ ...waiting, state: RequestState.PENDING }, ResponseMessage.state('a', 'PENDING'))).toEqual({ kind: 'waiting' });
    expect(invocationProgress(undefined, undefined)).toEqual({ kind: 'unknown' });
  });

  it('redriven: what came before the redrive says nothing; it waits until its new attempt starts', () => {
    // Dead-lettered after 3 attempts, then redriven by an operator; no worker has taken the new attempt yet.
    const redriven: InvocationRecord = { ...waiting, attempts: 3, worker: 'w1', redrive: { deadLetterSeq: 9, afterAttempt: 3, at: '2026-01-01T00:01:00.000Z', count: 1 } };
    const oldFailure = ResponseMessage.failure('a', Failure.create(FailureCode.TASK_FAILED, 'flaky'), { attempt: 3 });
    expect(invocationProgress(redriven, oldFailure)).toEqual({ kind: 'waiting' });
    expect(invocationProgress(redriven, ResponseMessage.event('a', 'redriven', { deadLetterSeq: 9 }))).toEqual({ kind: 'waiting' });
    expect(invocationProgress(redriven, undefined)).toEqual({ kind: 'waiting' });
    // The new attempt (4) started, or ended before the record caught up.
    expect(invocationProgress(redriven, ResponseMessage.state('a', 'RUNNING', { attempt: 4 }))).toEqual({ kind: 'started' });
    expect(invocationProgress({ ...redriven, state: RequestState.RUNNING, attempts: 4 }, undefined)).toEqual({ kind: 'started' });
    expect(invocationProgress(redriven, ResponseMessage.success('a', 1, { attempt: 4 }))).toMatchObject({ kind: 'final', response: { attempt: 4 } });
  });
});

