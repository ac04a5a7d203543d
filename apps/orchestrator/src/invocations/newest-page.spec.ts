import fc from 'fast-check';
import { newInvocationRecord, RequestState } from '@taskmesh/protocol';
import { CLOCK_SKEW_MS, NewestPage } from './newest-page.js';

const record = (id: string, at: number) => newInvocationRecord({ id, task: 'echo', createdAt: new Date(at).toISOString() });

describe(NewestPage.name, () => {
  it('keeps the newest `limit` matches by createdAt, whatever the order they come in', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 1e12 }), { maxLength: 300 }), fc.integer({ min: 1, max: 50 }), (times, limit) => {
      const page = new NewestPage(limit);
      times.forEach((t, i) => page.add(record(`r-${i}`, t), i + 1, i % 3 !== 0));
      const want = times.map((t, i) => ({ t, i })).filter((e) => e.i % 3 !== 0).sort((a, b) => b.t - a.t).slice(0, limit).map((e) => e.t);
      expect(page.take().map((r) => Date.parse(r.createdAt))).toEqual(want);
    }), { seed: 42, numRuns: 200 });
  });

  it('counts an id met twice once, at its newest revision, and drops it when that one no longer matches', () => {
    const page = new NewestPage(5);
    page.add(record('a', 1000), 7, true);
    page.add({ ...record('a', 1000), state: RequestState.SUCCESS }, 9, true);
    page.add(record('a', 1000), 8, true);
    expect(page.take().map((r) => [r.id, r.state])).toEqual([['a', 'SUCCESS']]);
    page.add({ ...record('a', 1000), state: RequestState.FAILURE }, 10, false);
    expect(page.take()).toEqual([]);
  });

  it('is complete once the stream is read back past the page\'s oldest creation (less the clock skew)', () => {
    const page = new NewestPage(2);
    page.add(record('a', 10_000), 1, true);
    expect(page.complete(0)).toBe(false); // fewer than limit
    page.add(record('b', 20_000), 2, true);
    expect(page.complete(10_000 - CLOCK_SKEW_MS)).toBe(false);
    expect(page.complete(10_000 - CLOCK_SKEW_MS - 1)).toBe(true);
  });
});
