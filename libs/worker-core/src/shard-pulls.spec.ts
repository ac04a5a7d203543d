import { ShardPulls } from './shard-pulls.js';

describe(ShardPulls.name, () => {
  it('wants a pull for every owned shard without one open, in order', () => {
    const pulls = new ShardPulls();
    expect(pulls.own([7, 2, 4])).toEqual([]);
    expect(pulls.wanted()).toEqual([2, 4, 7]);
    pulls.opened(10, 4);
    expect([pulls.wanted(), pulls.size, pulls.shardOf(10), pulls.shardOf(11)]).toEqual([[2, 7], 1, 4, undefined]);
  });

  it('forgets an ended pull, and says whether the id was one of its pulls', () => {
    const pulls = new ShardPulls();
    pulls.own([1]);
    pulls.opened(3, 1);
    expect(pulls.ended(4)).toBe(false);
    expect(pulls.ended(3)).toBe(true);
    expect([pulls.size, pulls.wanted()]).toEqual([0, [1]]);
  });

  it('reports the shards no longer owned, and leaves their open pulls to end without renewing them', () => {
    const pulls = new ShardPulls();
    pulls.own([1, 2, 3]);
    pulls.opened(5, 2);
    expect(pulls.own([3, 4])).toEqual([1, 2]);
    expect([pulls.shards, pulls.owns(2), pulls.owns(4)]).toEqual([[3, 4], false, true]);
    expect(pulls.shardOf(5)).toBe(2);
    expect(pulls.wanted()).toEqual([3, 4]);
    pulls.ended(5);
    expect(pulls.wanted()).toEqual([3, 4]);
  });

  it('keeps wanting exactly the owned shards without an open pull through any order of owns, opens and ends', () => {
    // Membership moving while pulls open and end: `wanted` is counted incrementally, so check it against a recount.
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const pulls = new ShardPulls();
    const open = new Map<number, number>();
    let owned: number[] = [];
    let nextPull = 1;
    for (let step = 0; step < 2000; step++) {
      const roll = random(10);
      if (roll === 0) {
        owned = [...new Set(Array.from({ length: random(6) }, () => random(8)))];
        pulls.own(owned);
      } else if (roll < 6) {
        const shard = random(8);
        open.set(nextPull, shard);
        pulls.opened(nextPull++, shard);
      } else if (open.size > 0) {
        const ids = [...open.keys()];
        const id = ids[random(ids.length)];
        open.delete(id);
        expect(pulls.ended(id)).toBe(true);
      }
      const covered = new Set(open.values());
      expect(pulls.wanted()).toEqual([...owned].sort((a, b) => a - b).filter((s) => !covered.has(s)));
    }
  });
});
