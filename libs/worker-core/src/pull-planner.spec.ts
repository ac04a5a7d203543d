import fc from 'fast-check';
import { planPulls } from './pull-planner.js';

const plan = (over: Partial<Parameters<typeof planPulls>[0]>) =>
  planPulls({ tasks: ['echo'], free: 8, outstanding: new Map(), rotation: 0, minBatch: 2, maxOutstanding: 4, ...over });

describe(planPulls.name, () => {
  it('gives a single idle task every free slot in one pull', () => {
    // A fresh worker with one task and 8 slots.
    expect(plan({})).toEqual([{ task: 'echo', batch: 8 }]);
  });

  it('asks for nothing when no slot is free', () => {
    expect(plan({ free: 0 })).toEqual([]);
    expect(plan({ tasks: [] })).toEqual([]);
  });

  it('shares free slots across idle tasks', () => {
    // A worker hosting three tasks, nothing outstanding.
    expect(plan({ tasks: ['a', 'b', 'c'], free: 8 })).toEqual([
      { task: 'a', batch: 2 }, { task: 'b', batch: 3 }, { task: 'c', batch: 3 },
    ]);
  });

  it('rotates which task goes first so none starves when slots are scarce', () => {
    const firsts = [0, 1, 2].map((rotation) => plan({ tasks: ['a', 'b', 'c'], free: 1, rotation })[0].task);
    expect(firsts).toEqual(['a', 'b', 'c']);
  });

  it('re-pulls for a task with a pull outstanding only for a worthwhile batch', () => {
    // Under load: one slot freed while a pull still waits; wait for more before asking again.
    expect(plan({ free: 1, outstanding: new Map([['echo', 1]]) })).toEqual([]);
    expect(plan({ free: 3, outstanding: new Map([['echo', 1]]) })).toEqual([{ task: 'echo', batch: 3 }]);
    expect(plan({ free: 3, outstanding: new Map([['echo', 4]]) })).toEqual([]);
  });

  it('never plans more than the free slots (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { maxLength: 5 }),
        fc.integer({ min: -3, max: 300 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 16 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.integer({ min: 0, max: 6 })),
        (tasks, free, rotation, minBatch, outstanding) => {
          const out = planPulls({ tasks, free, outstanding: new Map(Object.entries(outstanding)), rotation, minBatch, maxOutstanding: 4 });
          const total = out.reduce((n, p) => n + p.batch, 0);
          expect(total).toBeLessThanOrEqual(Math.max(0, free));
          for (const p of out) {
            expect(p.batch).toBeGreaterThanOrEqual(1);
            expect(tasks).toContain(p.task);
            expect(outstanding[p.task] ?? 0).toBeLessThan(4);
          }
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });
});
