import { IllegalTransitionError } from '@taskmesh/protocol';
import { DirectCalls } from './direct-calls.js';

const book = (maxAttempts = 3, remember = 100): DirectCalls => new DirectCalls({ maxAttempts, remember });

describe(DirectCalls.name, () => {
  it('follows WAITING -> PENDING -> RUNNING -> final for reports of the current attempt', () => {
    // An echo call placed on w1, which starts it and returns.
    const calls = book();
    expect(calls.open('inv-1', 'echo', undefined, true).state).toBe('WAITING');
    expect(calls.placed('inv-1', 'w1')).toBe(1);
    expect(calls.get('inv-1')?.state).toBe('PENDING');
    expect(calls.report('inv-1', { state: 'RUNNING', attempt: 1, worker: 'w1' })).toEqual({ kind: 'running' });
    expect(calls.get('inv-1')?.state).toBe('RUNNING');
    expect(calls.report('inv-1', { state: 'RUNNING', attempt: 1, worker: 'w1' })).toEqual({ kind: 'running' });
    expect(calls.report('inv-1', { state: 'SUCCESS', attempt: 1, worker: 'w1' })).toEqual({ kind: 'final' });
    calls.close('inv-1');
    expect(calls.size).toBe(0);
  });

  it('treats a refusal before the start as "place it elsewhere", and a failure after the start as the outcome', () => {
    const calls = book();
    calls.open('a', 'echo', undefined, false);
    calls.placed('a', 'w1');
    expect(calls.report('a', { state: 'FAILURE', attempt: 1, worker: 'w1', code: 'OVERLOADED' })).toEqual({ kind: 'refused' });
    expect(calls.get('a')?.state).toBe('WAITING');
    expect(calls.placed('a', 'w2')).toBe(2);
    expect([...(calls.get('a')?.tried ?? [])]).toEqual(['w1', 'w2']);
    calls.report('a', { state: 'RUNNING', attempt: 2, worker: 'w2' });
    expect(calls.report('a', { state: 'FAILURE', attempt: 2, worker: 'w2', code: 'OVERLOADED' })).toEqual({ kind: 'final' });
  });

  it('does not move a keyed call its owner refused (the next owner could run it beside the key\'s other calls)', () => {
    const calls = book();
    calls.open('a', 'echo', 'customer-42', true);
    calls.placed('a', 'w1');
    expect(calls.report('a', { state: 'FAILURE', attempt: 1, worker: 'w1', code: 'OVERLOADED' })).toEqual({ kind: 'final' });
  });

  it('places a PENDING call again when nobody listened on its worker\'s topic, and only then', () => {
    const calls = book();
    calls.open('a', 'echo', 'customer-42', false);
    expect(calls.unheard('a')).toBe(false);
    calls.placed('a', 'w1');
    expect(calls.unheard('a')).toBe(true);
    expect(calls.get('a')?.state).toBe('WAITING');
    calls.placed('a', 'w2');
    calls.report('a', { state: 'RUNNING', attempt: 2, worker: 'w2' });
    expect(calls.unheard('a')).toBe(false);
    expect(calls.unheard('nope')).toBe(false);
  });

  it('places an idempotent call again when its stopping worker gave it up mid-run; the others get WORKER_LOST', () => {
    const calls = book();
    for (const [id, idem] of [['i', true], ['n', false]] as const) {
      calls.open(id, 'sleep', undefined, idem);
      calls.placed(id, 'w1');
      calls.report(id, { state: 'RUNNING', attempt: 1, worker: 'w1' });
    }
    expect(calls.report('i', { state: 'FAILURE', attempt: 1, worker: 'w1', code: 'WORKER_LOST' })).toEqual({ kind: 'lost' });
    expect(calls.get('i')?.state).toBe('WAITING');
    expect(calls.report('n', { state: 'FAILURE', attempt: 1, worker: 'w1', code: 'WORKER_LOST' })).toEqual({ kind: 'final' });
  });

  it('answers a refusal that is not "try elsewhere" (past the deadline, invalid) as the outcome', () => {
    const calls = book();
    calls.open('a', 'echo', undefined, true);
    calls.placed('a', 'w1');
    expect(calls.report('a', { state: 'FAILURE', attempt: 1, worker: 'w1', code: 'TIMEOUT' })).toEqual({ kind: 'final' });
  });

  it('rejects reports of a superseded attempt, of another worker, and after the answer (a frozen worker woke up)', () => {
    const calls = book();
    calls.open('a', 'sleep', undefined, true);
    calls.placed('a', 'w1');
    calls.report('a', { state: 'RUNNING', attempt: 1, worker: 'w1' });
    expect(calls.workerLost('w1').again.map((c) => c.id)).toEqual(['a']);
    calls.placed('a', 'w2');
    expect(calls.report('a', { state: 'SUCCESS', attempt: 1, worker: 'w1' }).kind).toBe('rejected');
    expect(calls.report('a', { state: 'SUCCESS', attempt: 2, worker: 'w1' }).kind).toBe('rejected');
    expect(calls.report('a', { state: 'SUCCESS', attempt: 2, worker: 'w2' })).toEqual({ kind: 'final' });
    calls.close('a');
    expect(calls.report('a', { state: 'SUCCESS', attempt: 1, worker: 'w1' }).kind).toBe('rejected');
    expect(calls.report('never-seen', { state: 'SUCCESS', attempt: 1, worker: 'w1' })).toEqual({ kind: 'unknown' });
  });

  it('rejects a report while the call waits to be placed again, and states that carry no news', () => {
    const calls = book();
    calls.open('a', 'sleep', undefined, true);
    calls.placed('a', 'w1');
    calls.workerLost('w1');
    expect(calls.report('a', { state: 'RUNNING', attempt: 1, worker: 'w1' }).kind).toBe('rejected');
    calls.placed('a', 'w2');
    expect(calls.report('a', { state: 'EVENT', attempt: 2, worker: 'w2' }).kind).toBe('rejected');
  });

  it('on the loss of a worker, places idempotent calls again and loses the others, pending or running', () => {
    const calls = book();
    for (const [id, idem] of [['i-run', true], ['i-pend', true], ['n-run', false], ['n-pend', false]] as const) {
      calls.open(id, 'sleep', undefined, idem);
      calls.placed(id, 'w1');
      if (id.endsWith('run')) calls.report(id, { state: 'RUNNING', attempt: 1, worker: 'w1' });
    }
    calls.open('elsewhere', 'sleep', undefined, false);
    calls.placed('elsewhere', 'w2');
    const { again, lost } = calls.workerLost('w1');
    expect(again.map((c) => c.id).sort()).toEqual(['i-pend', 'i-run']);
    expect(lost.map((c) => c.id).sort()).toEqual(['n-pend', 'n-run']);
    expect(calls.get('elsewhere')?.state).toBe('PENDING');
  });

  it('stops placing again after maxAttempts', () => {
    const calls = book(2);
    calls.open('a', 'sleep', undefined, true);
    calls.placed('a', 'w1');
    expect(calls.canRetry('a')).toBe(true);
    calls.workerLost('w1');
    calls.placed('a', 'w2');
    expect(calls.canRetry('a')).toBe(false);
    expect(calls.workerLost('w2')).toEqual({ again: [], lost: [expect.objectContaining({ id: 'a' })] });
  });

  it('remembers a bounded number of answered ids', () => {
    const calls = book(3, 2);
    for (const id of ['a', 'b', 'c']) {
      calls.open(id, 'echo', undefined, true);
      calls.close(id);
    }
    expect(calls.report('a', { state: 'SUCCESS' })).toEqual({ kind: 'unknown' });
    expect(calls.report('c', { state: 'SUCCESS' }).kind).toBe('rejected');
  });

  it('refuses an illegal move (placing a call that is already running)', () => {
    const calls = book();
    calls.open('a', 'echo', undefined, true);
    calls.placed('a', 'w1');
    calls.report('a', { state: 'RUNNING', attempt: 1, worker: 'w1' });
    expect(() => calls.placed('a', 'w2')).toThrow(IllegalTransitionError);
  });
});
