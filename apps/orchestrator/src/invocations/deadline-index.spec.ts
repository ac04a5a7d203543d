import fc from 'fast-check';
import { DeadlineIndex } from './deadline-index.js';

describe(DeadlineIndex.name, () => {
  it('hands out exactly the ids due, earliest first, each once', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 200 }), fc.integer({ min: 0, max: 1000 }), (deadlines, at) => {
      const index = new DeadlineIndex(1000);
      deadlines.forEach((d, i) => index.add(`id-${i}`, d));
      const due = index.takeDue(at);
      const want = deadlines.map((d, i) => ({ d, id: `id-${i}` })).filter((e) => e.d <= at);
      expect(due.map((id) => deadlines[Number(id.slice(3))])).toEqual(want.map((e) => e.d).sort((a, b) => a - b));
      expect(new Set(due)).toEqual(new Set(want.map((e) => e.id)));
      expect(index.takeDue(at)).toEqual([]);
      expect(index.size).toBe(deadlines.length - due.length);
    }), { seed: 7, numRuns: 200 });
  });

  it('keeps an id once, at its latest deadline', () => {
    const index = new DeadlineIndex(10);
    index.add('a', 5);
    index.add('a', 5);
    index.add('a', 50);
    expect(index.size).toBe(1);
    expect(index.takeDue(10)).toEqual([]);
    expect(index.takeDue(50)).toEqual(['a']);
  });

  it('refuses ids beyond its capacity, and takes them once room is made', () => {
    const index = new DeadlineIndex(2);
    expect([index.add('a', 1), index.add('b', 2), index.add('c', 3)]).toEqual([true, true, false]);
    expect(index.takeDue(1)).toEqual(['a']);
    expect(index.add('c', 3)).toBe(true);
  });
});
