import type { NotifyMessage } from '@taskmesh/protocol';
import type { Placeable } from './placement.js';

/** What the registry keeps of a live worker; `lastSeenAt` is on the observer's monotonic clock. */
export interface WorkerEntry {
  id: string;
  topic: string;
  tasks: readonly string[];
  capacity: number;
  inflight: number;
  seq: number;
  joinedAt: number;
  lastSeenAt: number;
  /** Times the worker's NOTIFY sequence went backwards: it restarted under the same id. */
  restarts: number;
  /** Direct requests this process sent it since its last NOTIFY (that NOTIFY's `inflight` does not count them yet). */
  sentSinceBeat: number;
}

/** A live worker as `mesh.workers.list` shows it. */
export interface WorkerView {
  id: string;
  topic: string;
  tasks: string[];
  capacity: number;
  inflight: number;
  seq: number;
  lastSeenMs: number;
  uptimeMs: number;
  restarts: number;
}

/** The part of a NOTIFY the registry needs (already validated at the edge). */
export type WorkerBeat = Pick<NotifyMessage, 'worker' | 'topic' | 'tasks' | 'capacity' | 'inflight' | 'seq'>;

/**
 * The live workers, built from NOTIFY beats. Pure: time is passed in (`at`, monotonic ms on the observer's own
 * clock, a router's or a smart client's, never the worker's `sentAt`, so clock skew between hosts cannot expire or
 * revive a worker). A worker silent for `expiresAfterMs` or longer is removed by `expire()`, which returns what it
 * removed (taskflow ProxyWorkerFinder).
 */
export class WorkerRegistry {
  private readonly workers = new Map<string, WorkerEntry>();

  constructor(private readonly expiresAfterMs: number) {
    if (!(expiresAfterMs > 0)) throw new RangeError(`expiresAfterMs must be > 0, got ${expiresAfterMs}`);
  }

  /** Records a beat; `joined` is true when the worker was not live before (first beat, or back after expiry). */
  observe(beat: WorkerBeat, at: number): { joined: boolean; entry: WorkerEntry } {
    const known = this.workers.get(beat.worker);
    const entry: WorkerEntry = {
      id: beat.worker,
      topic: beat.topic,
      tasks: [...beat.tasks],
      capacity: beat.capacity,
      inflight: beat.inflight,
      seq: beat.seq,
      joinedAt: known?.joinedAt ?? at,
      // A beat delivered late must not move the clock backwards.
      lastSeenAt: Math.max(at, known?.lastSeenAt ?? at),
      restarts: (known?.restarts ?? 0) + (known !== undefined && beat.seq < known.seq ? 1 : 0),
      sentSinceBeat: 0,
    };
    this.workers.set(beat.worker, entry);
    return { joined: known === undefined, entry };
  }

  /** Removes and returns every worker silent for `expiresAfterMs` or longer at time `at`. */
  expire(at: number): WorkerEntry[] {
    const expired: WorkerEntry[] = [];
    for (const entry of this.workers.values()) {
      if (at - entry.lastSeenAt >= this.expiresAfterMs) expired.push(entry);
    }
    for (const entry of expired) this.workers.delete(entry.id);
    return expired;
  }

  /** Removes a worker that announced it is leaving; returns it if it was live. */
  remove(id: string): WorkerEntry | undefined {
    const entry = this.workers.get(id);
    this.workers.delete(id);
    return entry;
  }

  /** Live workers, most recently seen first. */
  list(at: number): WorkerView[] {
    return [...this.workers.values()]
      .sort((a, b) => b.lastSeenAt - a.lastSeenAt || a.id.localeCompare(b.id))
      .map((w) => ({
        id: w.id,
        topic: w.topic,
        tasks: [...w.tasks],
        capacity: w.capacity,
        inflight: w.inflight,
        seq: w.seq,
        lastSeenMs: Math.max(0, Math.round(at - w.lastSeenAt)),
        uptimeMs: Math.max(0, Math.round(at - w.joinedAt)),
        restarts: w.restarts,
      }));
  }

  /** Counts a direct request sent to `id` (its load until its next NOTIFY reports it). */
  noteSent(id: string): void {
    const entry = this.workers.get(id);
    if (entry) entry.sentSinceBeat += 1;
  }

  /** Live workers for placement, with their load: NOTIFY `inflight` plus what was sent to them since. */
  placeable(): Placeable[] {
    return [...this.workers.values()].map((w) => ({ id: w.id, topic: w.topic, tasks: w.tasks, load: w.inflight + w.sentSinceBeat }));
  }

  /** Whether some live worker offers `task`. */
  offers(task: string): boolean {
    for (const w of this.workers.values()) if (w.tasks.includes(task)) return true;
    return false;
  }

  get size(): number {
    return this.workers.size;
  }
}
