/**
 * The worker's pulls of key shards (pure; part of WorkerState). Every shard it owns has one pull open at all times,
 * for one message, even while a message of that shard is held here: the shard's consumer hands out its next message
 * only after the held one is acked (max_ack_pending 1), so the open pull is what picks it up at once. Shard pulls
 * reserve no slot: a keyed message that arrives with every slot busy waits in the slot queue (holding no slot), so
 * at most one message per owned shard is held beyond the task pulls' reservations.
 *
 * A pull of a shard that is no longer owned is left to end by itself (what it delivers runs here, still in order:
 * the consumer, not the owner, is what keeps one key's invocations one at a time) and is not renewed.
 */
export class ShardPulls {
  private owned: ReadonlySet<number> = new Set();
  /** The owned shards, sorted (kept: `wanted` runs after every stimulus the worker handles). */
  private sorted: readonly number[] = [];
  /** Open pulls: pull id -> shard. */
  private readonly open = new Map<number, number>();
  /** Open pulls per shard, and how many owned shards have none: `wanted` is a counter read while all are covered. */
  private readonly openPerShard = new Map<number, number>();
  private uncovered = 0;

  /** Pulls open now. */
  get size(): number {
    return this.open.size;
  }

  /** The shards owned now, sorted. */
  get shards(): number[] {
    return [...this.sorted];
  }

  /** Takes the shards owned from now on; returns those no longer owned. */
  own(shards: readonly number[]): number[] {
    const next = new Set(shards);
    const lost = [...this.owned].filter((s) => !next.has(s));
    this.owned = next;
    this.sorted = [...next].sort((a, b) => a - b);
    this.uncovered = this.sorted.filter((shard) => !this.openPerShard.has(shard)).length;
    return lost;
  }

  /** Whether `shard` is owned now. */
  owns(shard: number): boolean {
    return this.owned.has(shard);
  }

  /** The shard an open pull asks, or undefined when `pullId` is not a shard pull. */
  shardOf(pullId: number): number | undefined {
    return this.open.get(pullId);
  }

  /** The pull is over (status, expiry, or its one message came). */
  ended(pullId: number): boolean {
    const shard = this.open.get(pullId);
    if (shard === undefined) return false;
    this.open.delete(pullId);
    const left = (this.openPerShard.get(shard) ?? 1) - 1;
    if (left > 0) {
      this.openPerShard.set(shard, left);
    } else {
      this.openPerShard.delete(shard);
      if (this.owned.has(shard)) this.uncovered += 1;
    }
    return true;
  }

  /** Owned shards with no pull open, in order: each needs one. */
  wanted(): readonly number[] {
    if (this.uncovered === 0) return NONE;
    return this.sorted.filter((s) => !this.openPerShard.has(s));
  }

  /** A pull of `shard` was issued. */
  opened(pullId: number, shard: number): void {
    const before = this.open.get(pullId);
    if (before !== undefined) this.ended(pullId);
    this.open.set(pullId, shard);
    const count = this.openPerShard.get(shard) ?? 0;
    this.openPerShard.set(shard, count + 1);
    if (count === 0 && this.owned.has(shard)) this.uncovered -= 1;
  }
}

const NONE: readonly number[] = Object.freeze([]);
