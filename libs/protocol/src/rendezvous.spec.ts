import fc from 'fast-check';
import { hash32, keyShard, rendezvousOwner } from './rendezvous.js';

describe('rendezvousOwner', () => {
  it('has no owner without candidates', () => {
    expect(rendezvousOwner('k', [])).toBeUndefined();
  });

  it('picks the same owner whatever the order the candidates are listed in', () => {
    fc.assert(fc.property(fc.string(), fc.uniqueArray(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 8 }), (key, workers) => {
      const owner = rendezvousOwner(key, workers);
      expect(workers).toContain(owner);
      expect(rendezvousOwner(key, [...workers].reverse())).toBe(owner);
    }));
  });

  it('moves only the keys of a worker that leaves, and only to a worker that joins the keys it wins', () => {
    // A pool of 3 loses w2, then gains w4: every other key stays where it was.
    const keys = Array.from({ length: 2000 }, (_, i) => `customer-${i}`);
    const before = new Map(keys.map((k) => [k, rendezvousOwner(k, ['w1', 'w2', 'w3'])]));
    for (const k of keys) {
      const after = rendezvousOwner(k, ['w1', 'w3']);
      if (before.get(k) !== 'w2') expect(after).toBe(before.get(k));
    }
    for (const k of keys) {
      const after = rendezvousOwner(k, ['w1', 'w2', 'w3', 'w4']);
      if (after !== 'w4') expect(after).toBe(before.get(k));
    }
  });

  it('spreads keys about evenly', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 6000; i++) {
      const owner = rendezvousOwner(`key-${i}`, ['w1', 'w2', 'w3'])!;
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    for (const n of counts.values()) expect(n).toBeGreaterThan(1700);
  });
});

describe('keyShard', () => {
  it('maps a key to the same shard every time, within range', () => {
    fc.assert(fc.property(fc.string(), fc.integer({ min: 1, max: 256 }), (key, shards) => {
      const s = keyShard(key, shards);
      expect(Number.isInteger(s) && s >= 0 && s < shards).toBe(true);
      expect(keyShard(key, shards)).toBe(s);
    }));
  });

  it('is stable across releases (workers and routers of different builds agree)', () => {
    // Pinned values: a change of the hash would move every key to another shard and worker mid-flight.
    expect(hash32('')).toBe(2872998923);
    expect([keyShard('customer-42', 16), keyShard('order-1', 16), keyShard('a', 16)]).toEqual([12, 12, 3]);
  });

  it('refuses a shard count that is not a positive integer', () => {
    expect(() => keyShard('k', 0)).toThrow(RangeError);
    expect(() => keyShard('k', 1.5)).toThrow(RangeError);
  });
});
