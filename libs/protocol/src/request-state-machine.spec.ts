import { IllegalTransitionError } from './errors.js';
import { canTransition, nextStates, REDRIVE_TRANSITION, redriveTransition, REQUEST_TRANSITIONS, transition } from './request-state-machine.js';
import { FINAL_STATES, isFinalState, REQUEST_STATES, RequestState } from './states.js';

type Verdict = 'legal' | 'no-op' | 'illegal';

// The whole 5 x 5 table written out, so a change to REQUEST_TRANSITIONS must also change this test.
const EXPECTED: Record<RequestState, Record<RequestState, Verdict>> = {
  WAITING: { WAITING: 'no-op', PENDING: 'legal', RUNNING: 'legal', SUCCESS: 'illegal', FAILURE: 'legal' },
  PENDING: { WAITING: 'legal', PENDING: 'no-op', RUNNING: 'legal', SUCCESS: 'illegal', FAILURE: 'legal' },
  RUNNING: { WAITING: 'legal', PENDING: 'illegal', RUNNING: 'no-op', SUCCESS: 'legal', FAILURE: 'legal' },
  SUCCESS: { WAITING: 'illegal', PENDING: 'illegal', RUNNING: 'illegal', SUCCESS: 'no-op', FAILURE: 'illegal' },
  FAILURE: { WAITING: 'illegal', PENDING: 'illegal', RUNNING: 'illegal', SUCCESS: 'illegal', FAILURE: 'no-op' },
};

const pairs = REQUEST_STATES.flatMap((from) => REQUEST_STATES.map((to) => ({ from, to, verdict: EXPECTED[from][to] })));

describe('request state machine', () => {
  it('covers all 25 (from, to) pairs', () => {
    expect(pairs).toHaveLength(25);
  });

  describe(transition.name, () => {
    it.each(pairs.filter((p) => p.verdict === 'legal'))('$from -> $to is legal and returns $to', ({ from, to }) => {
      expect(transition(from, to)).toBe(to);
      expect(canTransition(from, to)).toBe(true);
    });

    it.each(pairs.filter((p) => p.verdict === 'no-op'))('$from -> $to is a repeated move: a no-op', ({ from, to }) => {
      expect(transition(from, to)).toBe(from);
      expect(canTransition(from, to)).toBe(true);
    });

    it.each(pairs.filter((p) => p.verdict === 'illegal'))('$from -> $to throws IllegalTransitionError', ({ from, to }) => {
      expect(canTransition(from, to)).toBe(false);
      let thrown: unknown;
      try {
        transition(from, to);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(IllegalTransitionError);
      expect(thrown).toMatchObject({ from, to, code: 'INTERNAL', retryable: false });
    });
  });

  describe('REQUEST_TRANSITIONS', () => {
    it('has exactly the legal edges, each with its reason', () => {
      const legal = pairs.filter((p) => p.verdict === 'legal').map(({ from, to }) => `${from}->${to}`);
      expect(REQUEST_TRANSITIONS.map((t) => `${t.from}->${t.to}`).sort()).toEqual(legal.sort());
      for (const edge of REQUEST_TRANSITIONS) expect(edge.why.length).toBeGreaterThan(5);
    });

    it('leaves no edge out of a final state', () => {
      for (const state of FINAL_STATES) {
        expect(isFinalState(state)).toBe(true);
        expect(nextStates(state)).toEqual([]);
      }
      expect([...FINAL_STATES].sort()).toEqual(['FAILURE', 'SUCCESS']);
      expect(isFinalState('EVENT')).toBe(false);
      expect(isFinalState('RUNNING')).toBe(false);
    });
  });
});

describe(redriveTransition.name, () => {
  it('reopens a FAILURE as WAITING: the one edge out of a final state, outside the flow of work', () => {
    // An operator redrives a dead-lettered invocation.
    expect(redriveTransition('FAILURE')).toBe('WAITING');
    expect(REDRIVE_TRANSITION).toMatchObject({ from: 'FAILURE', to: 'WAITING' });
    expect(REDRIVE_TRANSITION.why.length).toBeGreaterThan(5);
    // To everything that reports on work, FAILURE stays final.
    expect(canTransition('FAILURE', 'WAITING')).toBe(false);
    expect(REQUEST_TRANSITIONS).not.toContainEqual(expect.objectContaining({ from: 'FAILURE', to: 'WAITING' }));
  });

  it.each(REQUEST_STATES.filter((s) => s !== 'FAILURE'))('refuses to redrive %s (IllegalTransitionError)', (from) => {
    expect(() => redriveTransition(from)).toThrow(IllegalTransitionError);
  });
});
