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
});
