import { currentState, lastProgress, stateHistory, type HistoryRecord } from './state-history.js';

const record = (over: Partial<HistoryRecord> = {}): HistoryRecord => ({ state: 'SUCCESS', createdAt: 'T0', startedAt: 'T1', finishedAt: 'T3', attempts: 1, worker: 'w1', ...over });

describe(stateHistory.name, () => {
  it('lists the events in order, creation from the record, progress left out', () => {
    // A sleep with two steps, every event still in the stream.
    const events = [
      { state: 'RUNNING', at: 'T1', attempt: 1, worker: 'w1' },
      { state: 'EVENT', at: 'T2', eventType: 'progress', details: { step: 1, steps: 2 } },
      { state: 'SUCCESS', at: 'T3', attempt: 1, worker: 'w1' },
    ];
    expect(stateHistory(record(), events)).toEqual([
      { at: 'T0', state: 'WAITING', note: 'accepted', fromRecord: true },
      { at: 'T1', state: 'RUNNING', attempt: 1, worker: 'w1' },
      { at: 'T3', state: 'SUCCESS', attempt: 1, worker: 'w1' },
    ]);
  });

  it('explains a retry and a failure', () => {
    const events = [
      { state: 'RUNNING', at: 'T1', attempt: 1 },
      { state: 'EVENT', at: 'T2', eventType: 'retry' },
      { state: 'WAITING', at: 'T2', attempt: 1 },
      { state: 'RUNNING', at: 'T3', attempt: 2 },
      { state: 'FAILURE', at: 'T4', attempt: 2, failure: { code: 'TASK_FAILED', message: 'boom' } },
    ];
    expect(stateHistory(record({ state: 'FAILURE', attempts: 2 }), events).map((e) => [e.state, e.note])).toEqual([
      ['WAITING', 'accepted'], ['RUNNING', undefined], ['EVENT', 'retry'], ['WAITING', 'attempt 1 failed: retrying'], ['RUNNING', undefined], ['FAILURE', 'TASK_FAILED: boom'],
    ]);
  });

  it('takes the start and the outcome from the record when the stream no longer has them', () => {
    // A waiting invocation cancelled by the orchestrator: only the record knows.
    const cancelled = record({ state: 'FAILURE', startedAt: undefined, worker: undefined, failure: { code: 'CANCELLED', message: 'cancelled' } });
    expect(stateHistory(cancelled, [])).toEqual([
      { at: 'T0', state: 'WAITING', note: 'accepted', fromRecord: true },
      { at: 'T3', state: 'FAILURE', note: 'CANCELLED: cancelled', fromRecord: true },
    ]);
    expect(stateHistory(record(), []).map((e) => e.state)).toEqual(['WAITING', 'RUNNING', 'SUCCESS']);
  });
});

describe(lastProgress.name, () => {
  it('is the newest progress event, or nothing', () => {
    expect(lastProgress([{ state: 'EVENT', eventType: 'progress', details: { step: 1 } }, { state: 'EVENT', eventType: 'progress', details: { step: 2 } }, { state: 'SUCCESS' }])).toEqual({ step: 2 });
    expect(lastProgress([{ state: 'RUNNING' }])).toBeUndefined();
  });
});

describe('stateHistory times', () => {
  it('dates an event without `at` from the record: its attempt\'s start, its outcome', () => {
    const events = [{ state: 'RUNNING', attempt: 1 }, { state: 'SUCCESS', attempt: 1 }];
    expect(stateHistory(record(), events).map((e) => [e.state, e.at])).toEqual([['WAITING', 'T0'], ['RUNNING', 'T1'], ['SUCCESS', 'T3']]);
    // An earlier attempt's start is not the record's.
    expect(stateHistory(record({ attempts: 2 }), [{ state: 'RUNNING', attempt: 1 }])[1]!.at).toBeUndefined();
  });
});

describe(currentState.name, () => {
  it('is the newest event while the record lags behind it', () => {
    // The worker reported RUNNING; the orchestrator has not written it yet.
    expect(currentState(record({ state: 'WAITING', attempts: 0 }), [{ state: 'RUNNING', attempt: 1 }, { state: 'EVENT', eventType: 'progress' }])).toEqual({ state: 'RUNNING' });
    const cancelled = { code: 'CANCELLED', message: 'cancelled' };
    expect(currentState(record({ state: 'RUNNING' }), [{ state: 'RUNNING', attempt: 1 }, { state: 'FAILURE', attempt: 1, failure: cancelled }])).toEqual({ state: 'FAILURE', failure: cancelled });
  });

  it('is the record once it is final, or when the events are of an older attempt', () => {
    expect(currentState(record(), [{ state: 'RUNNING', attempt: 1 }])).toEqual({ state: 'SUCCESS' });
    expect(currentState(record({ state: 'RUNNING', attempts: 2 }), [{ state: 'WAITING', attempt: 1 }])).toEqual({ state: 'RUNNING' });
    expect(currentState(record({ state: 'WAITING', attempts: 0 }), [])).toEqual({ state: 'WAITING' });
  });
});
