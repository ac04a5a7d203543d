import { rendezvousOwner } from '@taskmesh/protocol';

/**
 * Which key shards a worker pulls: each shard has one owner among the live workers, by rendezvous hashing of
 * `shard:<n>` over their ids, so every worker that hears the same pool agrees without coordination, and
 * a worker joining or leaving moves only the shards it wins or held. `self` always counts as live. Sorted.
 */
export function ownedShards(self: string, live: Iterable<string>, shards: number): number[] {
  const pool = new Set(live);
  pool.add(self);
  const owned: number[] = [];
  for (let shard = 0; shard < shards; shard++) if (rendezvousOwner(`shard:${shard}`, pool) === self) owned.push(shard);
  return owned;
}

/**
 * The workers a worker hears beating (NOTIFY on `<p>.notify`), aged on its own monotonic clock like the router's
 * registry: one silent for `expiresAfterMs` is no longer live. Pure (time comes in); bounded by `maxWorkers`
 * (beyond it the longest silent is forgotten first).
 */
export class LiveWorkers {
  private readonly lastSeen = new Map<string, number>();

  constructor(
    private readonly expiresAfterMs: number,
    private readonly maxWorkers = 10_000,
  ) {}

  /** `worker` beat at `at`. */
  heard(worker: string, at: number): void {
    // Re-inserted so the map stays ordered by last beat, oldest first.
    this.lastSeen.delete(worker);
    this.lastSeen.set(worker, at);
    if (this.lastSeen.size > this.maxWorkers) this.lastSeen.delete(this.lastSeen.keys().next().value as string);
  }

  /** Whether `worker` is heard (and not expired yet). */
  has(worker: string): boolean {
    return this.lastSeen.has(worker);
  }

  /** Forgets `worker` now (it said it is leaving). */
  forget(worker: string): void {
    this.lastSeen.delete(worker);
  }

  /** Forgets the workers silent for `expiresAfterMs` at `at`; returns them. */
  expire(at: number): string[] {
    const gone: string[] = [];
    for (const [worker, seen] of this.lastSeen) {
      if (at - seen < this.expiresAfterMs) break;
      gone.push(worker);
    }
    for (const worker of gone) this.lastSeen.delete(worker);
    return gone;
  }

  /** The workers heard within `expiresAfterMs` of the last `expire`, sorted. */
  ids(): string[] {
    return [...this.lastSeen.keys()].sort();
  }
}
