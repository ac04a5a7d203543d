import fc from 'fast-check';
import { newInvocationRecord } from '#protocol';
import { Newest } from './newest.js';

const record = (i: number, at: number) => newInvocationRecord({ id: `r-${i}`, task: 'echo', createdAt: new Date(at).toISOString() });

describe(Newest.name, () => {
  it('keeps the newest `limit` records, newest first, whatever the order they come in', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 1e12 }), { maxLength: 300 }), fc.integer({ min: 1, max: 50 }), (times, limit) => {
      const newest = new Newest(limit);
      const records = times.map((t, i) => record(i, t));
      for (const r of records) newest.add(r);
      const want = [...records].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, limit).map((r) => r.createdAt);
      expect(newest.take().map((r) => r.createdAt)).toEqual(want);
    }), { seed: 42, numRuns: 200 });
  });

  it('holds fewer than twice the limit at any time', () => {
    const newest = new Newest(3);
    for (let i = 0; i < 100; i++) newest.add(record(i, i));
    expect(newest.take().map((r) => r.id)).toEqual(['r-99', 'r-98', 'r-97']);
    expect((newest as unknown as { kept: unknown[] }).kept.length).toBeLessThan(6);
  });
});
