import { MisfirePolicy } from '@taskmesh/protocol';
import { MAX_OCCURRENCES_LISTED, type Recurrence } from './recurrence.js';

/** What the timeline needs of a dispatch. */
export interface TimedDispatch {
  id: string;
  active: boolean;
  /** ms each occurrence runs; undefined: occurrences only start. */
  duration?: number;
  misfire: MisfirePolicy;
  recurrence: Recurrence;
  /**
   * When this definition took effect (epoch ms: the dispatch's `updatedAt`). Occurrences before it were never due
   * under it, so a resync does not count them as missed (a new leader must not fire the past of a new schedule).
   */
  since?: number;
  /**
   * A fingerprint of what a running occurrence's task would see differently (task, args, key, duration, dry run):
   * when an update changes it while an occurrence runs, the timeline says so at once (`notify`).
   */
  runtime?: string;
}

/** What the timeline asks its shell to do. */
export type Effect =
  /** Submit the occurrence (invocation id `dispatch:<id>:<occurrence>`) and announce `started`. */
  | { type: 'fire'; id: string; occurrence: number; until?: number; late: boolean }
  /** Announce `stopped`: the occurrence's duration is over, or it was stopped early (inactive, deleted, shortened). */
  | { type: 'stop'; id: string; occurrence: number }
  /** Announce `started` again: a running occurrence's runtime attributes changed (it is not submitted again). */
  | { type: 'notify'; id: string; occurrence: number; until?: number };

/** How the timeline treats time. */
export interface TimelineOptions {
  /** Missed occurrences older than this are never fired, whatever the policy. */
  catchUpMs: number;
  /** An occurrence at most this late is on time, not missed (timers fire late; restarts take a moment). */
  graceMs: number;
}

interface Entry {
  dispatch: TimedDispatch;
  /** Bumped on every change: heap items of an older generation are stale. */
  gen: number;
  /** The latest occurrence fired (never fired again by this timeline). */
  lastFired?: number;
  /** Occurrences started and not stopped yet, with their end. */
  running: Map<number, number>;
}

interface Item {
  at: number;
  id: string;
  gen: number;
  kind: 'start' | 'stop';
  occurrence: number;
}

/**
 * The scheduler's pure timeline (after frequenz's DispatchingActor): a min-heap of the next events (start and stop
 * of each occurrence) of every dispatch, behind one timer (`nextAt`). No clock and no I/O: the shell passes `now`
 * and performs the effects. Exactly-once firing is not its job (the invocation id is); it only decides when.
 *
 * - `set` (created, or updated: removed and rescheduled) with `resync` when the shell (re)starts leading: the
 *   misfire policy decides which occurrences missed within the catch-up window fire now; an occurrence whose
 *   duration still runs is picked up under every policy.
 * - An update while an occurrence runs takes effect at once: inactive, or the new schedule no longer running it ->
 *   `stop` now; a new duration moves its stop; changed runtime attributes (`runtime`) -> `notify` now.
 * - Occurrences before the definition took effect (`since`) are never owed by a resync.
 * - `delete` while running -> `stop`.
 */
export class Timeline {
  private readonly entries = new Map<string, Entry>();
  private heap: Item[] = [];

  constructor(private readonly options: TimelineOptions) {}

  /** Dispatches known. */
  get size(): number {
    return this.entries.size;
  }

  /** Adds or replaces a dispatch; returns what is due at once. */
  set(dispatch: TimedDispatch, now: number, opts: { resync?: boolean } = {}): Effect[] {
    const previous = this.entries.get(dispatch.id);
    const entry: Entry = { dispatch, gen: (previous?.gen ?? 0) + 1, lastFired: previous?.lastFired, running: new Map() };
    this.entries.set(dispatch.id, entry);
    const effects: Effect[] = [];
    // Occurrences running under the old definition: keep those the new one still runs, stop the others now.
    for (const occurrence of previous?.running.keys() ?? []) {
      const newUntil = dispatch.duration === undefined ? undefined : occurrence + dispatch.duration;
      const stillRuns = dispatch.active && newUntil !== undefined && newUntil > now && this.occursAt(dispatch, occurrence);
      if (stillRuns) {
        if (dispatch.runtime !== previous?.dispatch.runtime) effects.push({ type: 'notify', id: dispatch.id, occurrence, until: newUntil });
        entry.running.set(occurrence, newUntil);
        this.push({ at: newUntil, id: dispatch.id, gen: entry.gen, kind: 'stop', occurrence });
      } else {
        effects.push({ type: 'stop', id: dispatch.id, occurrence });
      }
    }
    if (!dispatch.active) return effects;
    effects.push(...this.catchUp(entry, now, opts.resync === true));
    this.scheduleNext(entry, Math.max(entry.lastFired ?? -Infinity, now - this.options.graceMs - 1));
    return effects;
  }

  /** Forgets a dispatch; an occurrence still running is stopped. */
  delete(id: string): Effect[] {
    const entry = this.entries.get(id);
    if (!entry) return [];
    this.entries.delete(id);
    return [...entry.running.keys()].map((occurrence) => ({ type: 'stop' as const, id, occurrence }));
  }

  /** What is due at `now`, in time order; the heap moves on. */
  advance(now: number): Effect[] {
    const effects: Effect[] = [];
    for (let item = this.peek(); item !== undefined && item.at <= now; item = this.peek()) {
      this.pop();
      const entry = this.entries.get(item.id);
      if (!entry || entry.gen !== item.gen) continue; // stale: the dispatch changed or went
      if (item.kind === 'stop') {
        if (entry.running.delete(item.occurrence)) effects.push({ type: 'stop', id: item.id, occurrence: item.occurrence });
        continue;
      }
      effects.push(this.fire(entry, item.occurrence, now));
      this.scheduleNext(entry, item.occurrence);
    }
    return effects;
  }

  /** When the next event is due (the one timer), if any. */
  nextAt(): number | undefined {
    for (let item = this.peek(); item !== undefined; item = this.peek()) {
      const entry = this.entries.get(item.id);
      if (entry && entry.gen === item.gen) return item.at;
      this.pop(); // drop stale items so the timer is not set for nothing
    }
    return undefined;
  }

  /** The occurrences to fire now on (re)sync or creation, by the misfire policy (see the class comment). */
  private catchUp(entry: Entry, now: number, resync: boolean): Effect[] {
    const d = entry.dispatch;
    const windowStart = now - this.options.catchUpMs;
    const onTime = now - this.options.graceMs;
    const from = Math.max(windowStart, entry.lastFired ?? -Infinity);
    const missed = d.recurrence.between(from, onTime - 1, MAX_OCCURRENCES_LISTED);
    // Only occurrences due under this definition are owed; the running one below is picked up regardless.
    const owed = missed.filter((occurrence) => occurrence >= (d.since ?? -Infinity));
    let picked: number[] = [];
    if (resync && d.misfire === MisfirePolicy.FireAll) picked = owed;
    else if (resync && d.misfire === MisfirePolicy.FireOnce) picked = owed.slice(-1);
    // Every policy picks up the latest missed occurrence whose duration still runs (the dispatch is "on" now).
    const last = missed.at(-1);
    if (last !== undefined && d.duration !== undefined && last + d.duration > now && !picked.includes(last)) picked.push(last);
    return picked.map((occurrence) => this.fire(entry, occurrence, now));
  }

  private fire(entry: Entry, occurrence: number, now: number): Effect {
    const d = entry.dispatch;
    entry.lastFired = Math.max(entry.lastFired ?? -Infinity, occurrence);
    const until = d.duration === undefined ? undefined : occurrence + d.duration;
    if (until !== undefined) {
      // Fired late with its window already over, it still gets its `stop` (at the next advance): every started
      // occurrence of a dispatch with a duration is stopped once.
      entry.running.set(occurrence, until);
      this.push({ at: until, id: d.id, gen: entry.gen, kind: 'stop', occurrence });
    }
    return { type: 'fire', id: d.id, occurrence, ...(until === undefined ? {} : { until }), late: now - occurrence > this.options.graceMs };
  }

  private scheduleNext(entry: Entry, afterMs: number): void {
    const next = entry.dispatch.recurrence.next(afterMs);
    if (next !== undefined) this.push({ at: next, id: entry.dispatch.id, gen: entry.gen, kind: 'start', occurrence: next });
  }

  /** Whether `occurrence` is one of the dispatch's occurrences. */
  private occursAt(d: TimedDispatch, occurrence: number): boolean {
    return d.recurrence.next(occurrence - 1) === occurrence;
  }

  // --- binary min-heap on `at` (ties: stops before starts, so a back-to-back series stops then starts) ---

  private before(a: Item, b: Item): boolean {
    return a.at < b.at || (a.at === b.at && a.kind === 'stop' && b.kind === 'start');
  }

  private peek(): Item | undefined {
    return this.heap[0];
  }

  private push(item: Item): void {
    // Stale items (of changed or deleted dispatches) go when popped; compact when they dominate, so the heap
    // stays bounded by the live dispatches.
    if (this.heap.length > 4 * this.entries.size + 64) this.compact();
    this.heap.push(item);
    this.siftUp(this.heap.length - 1);
  }

  private siftUp(from: number): void {
    const h = this.heap;
    for (let i = from; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private compact(): void {
    const live = this.heap.filter((item) => this.entries.get(item.id)?.gen === item.gen);
    this.heap = [];
    for (const item of live) {
      this.heap.push(item);
      this.siftUp(this.heap.length - 1);
    }
  }

  private pop(): Item | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l], h[m])) m = l;
        if (r < h.length && this.before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
