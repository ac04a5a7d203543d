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
});
