import fc from 'fast-check';
import { LiveWorkers, ownedShards } from './shard-ownership.js';

describe('ownedShards', () => {
  it('gives every shard exactly one owner among workers that hear the same pool', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,12}$/), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 64 }), (pool, shards) => {
      const owners = new Map<number, string[]>();
      for (const w of pool) for (const s of ownedShards(w, pool, shards)) owners.set(s, [...(owners.get(s) ?? []), w]);
      expect([...owners.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: shards }, (_, i) => i));
      for (const ws of owners.values()) expect(ws).toHaveLength(1);
    }));
  });

  it('counts the worker itself as live, before it has heard its own beat', () => {
    expect(ownedShards('w1', [], 4)).toEqual([0, 1, 2, 3]);
    expect(ownedShards('w1', ['w2'], 16)).toEqual(ownedShards('w1', ['w1', 'w2'], 16));
  });

  it('moves only the shards of a worker that leaves, and only to a worker that joins the shards it wins', () => {
    const three = ['w1', 'w2', 'w3'];
    const before = new Map(three.map((w) => [w, ownedShards(w, three, 64)]));
    // w2 leaves: w1 and w3 keep theirs and split w2's.
    for (const w of ['w1', 'w3']) expect(ownedShards(w, ['w1', 'w3'], 64)).toEqual(expect.arrayContaining(before.get(w)!));
    // w4 joins: the others only lose shards, to w4.
    const four = [...three, 'w4'];
    const gained = ownedShards('w4', four, 64);
    expect(gained.length).toBeGreaterThan(0);
    for (const w of three) {
      const now = ownedShards(w, four, 64);
      expect(before.get(w)).toEqual(expect.arrayContaining(now));
      for (const s of before.get(w)!.filter((x) => !now.includes(x))) expect(gained).toContain(s);
    }
  });

  it('spreads 16 shards over 3 workers with none left out', () => {
    const pool = ['w1', 'w2', 'w3'];
    for (const w of pool) expect(ownedShards(w, pool, 16).length).toBeGreaterThan(0);
  });
});

describe(LiveWorkers.name, () => {
  it('keeps a worker while it beats and forgets it after expiresAfterMs of silence', () => {
    const live = new LiveWorkers(1000);
    live.heard('w2', 0);
    live.heard('w1', 100);
    expect(live.expire(900)).toEqual([]);
    expect(live.ids()).toEqual(['w1', 'w2']);
    live.heard('w2', 950);
    // w1 was last heard at 100: silent for 1000 ms at 1100; w2 beat at 950.
    expect(live.expire(1100)).toEqual(['w1']);
    expect([live.has('w1'), live.has('w2'), live.ids()]).toEqual([false, true, ['w2']]);
    expect(live.expire(1950)).toEqual(['w2']);
    expect(live.ids()).toEqual([]);
  });

  it('is bounded: beyond maxWorkers the longest silent is forgotten first', () => {
    const live = new LiveWorkers(1000, 2);
    live.heard('a', 0);
    live.heard('b', 1);
    live.heard('a', 2);
    live.heard('c', 3);
    expect(live.ids()).toEqual(['a', 'c']);
  });
});
