import { newInvocationRecord, RequestState, type InvocationRecord } from '@taskmesh/protocol';
import { EXPIRY_GRACE_MS, sweep } from './sweep.js';

const T0 = Date.parse('2026-11-23T00:00:00.000Z');
const waiting = (deadline?: number): InvocationRecord => newInvocationRecord({ id: 'inv-1', task: 'echo', createdAt: new Date(T0).toISOString(), deadline });
const final = (finishedAt: number): InvocationRecord => ({ ...waiting(), state: RequestState.SUCCESS, attempts: 1, result: 1, finishedAt: new Date(finishedAt).toISOString() });

describe(sweep.name, () => {
  it('expires waiting work past its deadline (plus grace) as a final TIMEOUT', () => {
    const deadline = T0 + 30_000;
    expect(sweep(waiting(deadline), deadline + EXPIRY_GRACE_MS, 60_000)).toEqual({ kind: 'keep' });
    const action = sweep(waiting(deadline), deadline + EXPIRY_GRACE_MS + 1, 60_000);
    expect(action).toMatchObject({ kind: 'expire', record: { state: 'FAILURE', attempts: 0, failure: { code: 'TIMEOUT' } } });
  });

  it('never expires running work, or work without a deadline', () => {
    expect(sweep({ ...waiting(T0), state: RequestState.RUNNING, attempts: 1 }, T0 + 999_999, 60_000)).toEqual({ kind: 'keep' });
    // Failed retryably and waits for its next attempt: it started, so it is carried to its outcome.
    expect(sweep({ ...waiting(T0), state: RequestState.WAITING, attempts: 1 }, T0 + 999_999, 60_000)).toEqual({ kind: 'keep' });
    expect(sweep(waiting(), T0 + 999_999, 60_000)).toEqual({ kind: 'keep' });
  });

  it('purges final records once they are older than the purge age', () => {
    expect(sweep(final(T0), T0 + 59_999, 60_000)).toEqual({ kind: 'keep' });
    expect(sweep(final(T0), T0 + 60_000, 60_000)).toEqual({ kind: 'purge' });
  });
});
