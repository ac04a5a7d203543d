import fc from 'fast-check';
import { planPulls } from './pull-planner.js';

const plan = (over: Partial<Parameters<typeof planPulls>[0]>) =>
  planPulls({ tasks: ['echo'], free: 8, outstanding: new Map(), hot: new Set(), rotation: 0, minBatch: 2, maxOutstanding: 4, ...over });

describe(planPulls.name, () => {
  it('gives a lone task every free slot in one pull', () => {
    // A worker hosting one task, 8 slots.
    expect(plan({})).toEqual([{ task: 'echo', batch: 8, probe: false }]);
  });

  it('asks for nothing when no slot is free', () => {
    expect(plan({ free: 0 })).toEqual([]);
    expect(plan({ tasks: [] })).toEqual([]);
  });

  it('probes every cold task with one slot, and keeps the rest for work that comes', () => {
    // A fresh worker hosting three tasks: nothing has arrived yet.
    expect(plan({ tasks: ['a', 'b', 'c'], free: 8 })).toEqual([{ task: 'a', batch: 1, probe: true }, { task: 'b', batch: 1, probe: true }, { task: 'c', batch: 1, probe: true }]);
  });

  it('adds nothing while every cold task has its probe open, however many slots are free', () => {
    // A worker busy with direct calls only: its probes wait at the server, and slots come and go with each call.
    const outstanding = new Map([['a', 1], ['b', 1], ['c', 1]]);
    expect(plan({ tasks: ['a', 'b', 'c'], free: 20, outstanding })).toEqual([]);
    // One probe gone (it expired): only that task is probed again.
    expect(plan({ tasks: ['a', 'b', 'c'], free: 20, outstanding: new Map([['a', 1], ['c', 1]]) })).toEqual([{ task: 'b', batch: 1, probe: true }]);
  });

  it('gives the slots beyond one probe to the tasks that are receiving work', () => {
    // `b` is busy; `a` and `c` see nothing: one of them is probed at a time.
    expect(plan({ tasks: ['a', 'b', 'c'], free: 8, hot: new Set(['b']) })).toEqual([
      { task: 'b', batch: 7, probe: false }, { task: 'a', batch: 1, probe: true },
    ]);
    expect(plan({ tasks: ['a', 'b', 'c'], free: 6, hot: new Set(['b']), outstanding: new Map([['a', 1]]) })).toEqual([{ task: 'b', batch: 6, probe: false }]);
    // Probes already open: all free slots go to `b`.
    expect(plan({ tasks: ['a', 'b', 'c'], free: 6, hot: new Set(['b']), outstanding: new Map([['a', 1], ['c', 1]]) })).toEqual([{ task: 'b', batch: 6, probe: false }]);
  });

  it('rotates which cold task is probed first so none starves when slots are scarce', () => {
    const firsts = [0, 1, 2].map((rotation) => plan({ tasks: ['a', 'b', 'c'], free: 1, rotation })[0].task);
    expect(firsts).toEqual(['a', 'b', 'c']);
  });

  it('re-pulls for a task with a pull open only for a worthwhile batch', () => {
    // Under load: one slot freed while a pull still waits; wait for more before asking again.
    expect(plan({ free: 1, outstanding: new Map([['echo', 1]]) })).toEqual([]);
    expect(plan({ free: 3, outstanding: new Map([['echo', 1]]) })).toEqual([{ task: 'echo', batch: 3, probe: false }]);
    expect(plan({ free: 3, outstanding: new Map([['echo', 4]]) })).toEqual([]);
  });

  it('keeps the slots for a busy task when there are more tasks than slots, probing the others one at a time in turn', () => {
    // Two slots, eight tasks, `b` receiving work: `b` always gets a slot, the other one probes the cold tasks in turn.
    const tasks = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const turns = [0, 1, 2, 3, 4, 5, 6, 7].map((rotation) => plan({ tasks, free: 2, hot: new Set(['b']), rotation }));
    for (const t of turns) expect(t[0]).toEqual({ task: 'b', batch: 1, probe: false });
    expect(new Set(turns.map((t) => t[1].task))).toEqual(new Set(['a', 'c', 'd', 'e', 'f', 'g', 'h']));
    // One slot: it goes to the busy task.
    expect(plan({ tasks, free: 1, hot: new Set(['b']) })).toEqual([{ task: 'b', batch: 1, probe: false }]);
  });

  it('serves first the tasks a waiting parent here needs', () => {
    // One slot; a parent waits for `c` (a child call): `c` gets the slot before the busy `b` and any probe.
    expect(plan({ tasks: ['a', 'b', 'c'], free: 1, hot: new Set(['b']), awaited: new Map([['c', 1]]) })).toEqual([{ task: 'c', batch: 1, probe: false }]);
  });

  it('never plans more than the free slots, nor beyond the open-pull bound (property)', () => {
    const names = ['a', 'b', 'c', 'd', 'e'] as const;
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...names), { maxLength: 5 }),
        fc.integer({ min: -3, max: 300 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 16 }),
        fc.dictionary(fc.constantFrom(...names), fc.integer({ min: 0, max: 6 })),
        fc.uniqueArray(fc.constantFrom(...names)),
        (tasks, free, rotation, minBatch, outstanding, hot) => {
          const out = planPulls({ tasks, free, outstanding: new Map(Object.entries(outstanding)), hot: new Set(hot), rotation, minBatch, maxOutstanding: 4 });
          expect(out.reduce((n, p) => n + p.batch, 0)).toBeLessThanOrEqual(Math.max(0, free));
          for (const p of out) {
            expect(p.batch).toBeGreaterThanOrEqual(1);
            expect(tasks).toContain(p.task);
            expect(outstanding[p.task] ?? 0).toBeLessThan(4);
          }
          // Whenever a slot is free: a busy task without a pull open gets one; else, with no probe open, a cold one.
          const idle = tasks.filter((t) => (outstanding[t] ?? 0) === 0);
          const isBusy = (t: string): boolean => tasks.length === 1 || (hot as string[]).includes(t);
          const probeOpen = tasks.some((t) => !isBusy(t) && (outstanding[t] ?? 0) > 0);
          if (free > 0 && (idle.some(isBusy) || (idle.length > 0 && !probeOpen))) expect(out.length).toBeGreaterThan(0);
          // At most one probe open while something is busy.
          const probesAfter = tasks.filter((t) => !isBusy(t) && ((outstanding[t] ?? 0) > 0 || out.some((p) => p.task === t))).length;
          if (tasks.some(isBusy)) expect(probesAfter).toBeLessThanOrEqual(Math.max(1, tasks.filter((t) => !isBusy(t) && (outstanding[t] ?? 0) > 0).length));
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });
});
