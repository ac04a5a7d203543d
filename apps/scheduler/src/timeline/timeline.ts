import { MisfirePolicy, type DispatchMessage } from '#protocol';
import { MinHeap } from './min-heap.js';
import { compileSchedule, type Schedule } from './recurrence.js';
import type { TimelineAction, TimelineStimulus } from './timeline.stimuli.js';

/** How late an occurrence may fire and still count as on time (timer and event-loop lateness, a busy moment). */
export const DEFAULT_GRACE_MS = 1_000;
/** Most occurrences one dispatch fires in one catch-up step; the rest follow on the next tick (bounded bursts). */
export const DEFAULT_MAX_FIRES_PER_STEP = 100;

/** The timeline's bounds and policy knobs. */
export interface TimelineOptions {
  /** Missed occurrences older than this are never fired (`fire-once`, `fire-all`). MESH_SCHEDULER_CATCHUP_MS. */
  catchUpMs: number;
  /** Dispatches tracked at most (the store refuses more; this guards the heap). MESH_SCHEDULER_MAX_DISPATCHES. */
  maxDispatches: number;
  graceMs?: number;
  maxFiresPerStep?: number;
}

interface Entry {
  dispatch: DispatchMessage;
  schedule: Schedule;
  /** The last occurrence fired (persisted by the shell; fed back after a restart). */
  lastFired?: number;
  /** Every occurrence up to here has been decided (fired or skipped) by this timeline. */
  decidedUpTo?: number;
}

interface Due {
  at: number;
  id: string;
  kind: 'start' | 'stop';
  occurrence: number;
}

/**
 * The scheduler's pure core (the seed's DispatchingActor without its I/O): a min-heap of the next events (the next
 * start of every active dispatch and the stop of every running occurrence), the next due time for the shell's one
 * timer, and the create / update / delete / re-sync semantics. Time arrives in stimuli; no timers, no I/O, no throws.
 */
export class Timeline {
  private readonly entries = new Map<string, Entry>();
  private readonly heap = new MinHeap<Due>((a, b) => a.at < b.at || (a.at === b.at && (a.kind === 'stop' && b.kind === 'start')));
  private readonly graceMs: number;
  private readonly maxFiresPerStep: number;

  constructor(private readonly options: TimelineOptions) {
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.maxFiresPerStep = options.maxFiresPerStep ?? DEFAULT_MAX_FIRES_PER_STEP;
  }

  /** Applies the stimuli in order; returns what the shell must do, in order. */
  handle(...stimuli: TimelineStimulus[]): TimelineAction[] {
    const out: TimelineAction[] = [];
    for (const s of stimuli) {
      switch (s.type) {
        case 'sync':
          this.sync(s.now, s.dispatches, s.fired, out);
          break;
        case 'upsert':
          this.upsert(s.now, s.dispatch, s.lastFired, out);
          break;
        case 'remove':
          this.remove(s.id, out);
          break;
        case 'tick':
          this.tick(s.now, out);
          break;
        default:
          s satisfies never;
      }
    }
    return out;
  }

  /** When the shell's one timer should next go off (epoch ms), or undefined when nothing is scheduled. */
  nextDueAt(): number | undefined {
    return this.heap.peek()?.at;
  }

  /** The occurrences of `id` running now (started, with a stop to come). */
  running(id: string): number[] {
    return this.heap.filter((d) => d.id === id && d.kind === 'stop').map((d) => d.occurrence).sort((a, b) => a - b);
  }

  /** The dispatches tracked. */
  get size(): number {
    return this.entries.size;
  }

  /** The next start scheduled for `id` (epoch ms), if any. */
  nextStart(id: string): number | undefined {
    return this.heap.filter((d) => d.id === id && d.kind === 'start')[0]?.at;
  }

  // The seed's _fetch: what is new is scheduled, what changed is rescheduled, what vanished is removed.
  private sync(now: number, dispatches: readonly DispatchMessage[], fired: ReadonlyMap<string, number>, out: TimelineAction[]): void {
    const seen = new Set<string>();
    for (const d of dispatches) {
      seen.add(d.id);
      const entry = this.entries.get(d.id);
      const mark = fired.get(d.id);
      if (entry && mark !== undefined && (entry.lastFired === undefined || mark > entry.lastFired)) entry.lastFired = mark;
      this.upsert(now, d, mark, out);
    }
    for (const id of [...this.entries.keys()]) if (!seen.has(id)) this.remove(id, out);
  }

  private upsert(now: number, dispatch: DispatchMessage, lastFired: number | undefined, out: TimelineAction[]): void {
    const old = this.entries.get(dispatch.id);
    if (old && sameDispatch(old.dispatch, dispatch)) return;
    let schedule: Schedule;
    try {
      schedule = compileSchedule(dispatch);
    } catch (err) {
      if (old) this.remove(dispatch.id, out);
      out.push({ type: 'refuse', dispatch, reason: (err as Error).message });
      return;
    }
    if (!old && this.entries.size >= this.options.maxDispatches) {
      out.push({ type: 'refuse', dispatch, reason: `more than ${this.options.maxDispatches} dispatches` });
      return;
    }
    const entry: Entry = { dispatch, schedule, lastFired: max(old?.lastFired, lastFired), decidedUpTo: old?.decidedUpTo };
    this.entries.set(dispatch.id, entry);
    if (old) {
      // The seed's update: remove what was scheduled; a running occurrence is told at once if the change matters to it.
      const wasRunning = this.heap.removeWhere((d) => d.id === dispatch.id).filter((d) => d.kind === 'stop');
      const changed = runtimeKey(old.dispatch) !== runtimeKey(dispatch);
      for (const run of wasRunning) {
        const until = dispatch.duration === undefined ? undefined : run.occurrence + dispatch.duration;
        const stillRuns = dispatch.active && until !== undefined && until > now && schedule.atOrAfter(run.occurrence) === run.occurrence;
        if (stillRuns) {
          if (changed) out.push({ type: 'notify', event: 'started', dispatch, occurrence: run.occurrence, until });
          this.heap.push({ at: until, id: dispatch.id, kind: 'stop', occurrence: run.occurrence });
        } else {
          out.push({ type: 'notify', event: 'stopped', dispatch, occurrence: run.occurrence });
        }
      }
    } else {
      this.adoptRuns(entry, now);
    }
    this.plan(entry, now, out);
  }

  /**
   * A dispatch first seen (after a restart or a takeover) may have occurrences that the previous leader fired and
   * that still run: their `stopped` is this timeline's to send.
   */
  private adoptRuns(entry: Entry, now: number): void {
    const { dispatch, schedule, lastFired } = entry;
    if (dispatch.duration === undefined || lastFired === undefined || !dispatch.active) return;
    for (const o of schedule.between(now - dispatch.duration + 1, lastFired, this.maxFiresPerStep)) {
      this.heap.push({ at: o + dispatch.duration, id: dispatch.id, kind: 'stop', occurrence: o });
    }
  }

  private remove(id: string, out: TimelineAction[]): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    // Deleted while running: the run stops now.
    for (const run of this.heap.removeWhere((d) => d.id === id).filter((d) => d.kind === 'stop').sort((a, b) => a.occurrence - b.occurrence)) {
      out.push({ type: 'stop', dispatch: entry.dispatch, occurrence: run.occurrence });
    }
    out.push({ type: 'forget', id });
  }

  private tick(now: number, out: TimelineAction[]): void {
    const replan = new Set<string>();
    for (let top = this.heap.peek(); top !== undefined && top.at <= now; top = this.heap.peek()) {
      this.heap.pop();
      const entry = this.entries.get(top.id);
      if (!entry) continue;
      if (top.kind === 'stop') out.push({ type: 'stop', dispatch: entry.dispatch, occurrence: top.occurrence });
      else replan.add(top.id);
    }
    for (const id of [...replan].sort()) {
      const entry = this.entries.get(id);
      if (entry) this.plan(entry, now, out);
    }
  }

  /**
   * Decides every occurrence of `entry` due by `now` that is not decided yet, by its misfire policy, then schedules
   * its next start. An occurrence is live when it is on time (at most graceMs late) or still running (start +
   * duration after now): live ones always fire. The others were missed: `skip` drops them, `fire-once` fires the
   * latest within the catch-up window when nothing is live, `fire-all` fires each within the window. Occurrences
   * before the dispatch's last change (`updatedAt`) were never due under this definition and are not missed.
   */
  private plan(entry: Entry, now: number, out: TimelineAction[]): void {
    const { dispatch, schedule } = entry;
    this.heap.removeWhere((d) => d.id === dispatch.id && d.kind === 'start');
    if (!dispatch.active) return;
    const duration = dispatch.duration ?? 0;
    const catchUp = this.options.catchUpMs;
    const decided = max(entry.lastFired, entry.decidedUpTo);
    // Occurrences older than the catch-up window (and not running) are not looked at: neither fired nor reported.
    const lookBack = Math.max(catchUp, duration, this.graceMs);
    const from = Math.max(decided === undefined ? -Infinity : decided + 1, now - lookBack);
    const due = schedule.between(from, now, this.maxFiresPerStep);
    const truncated = due.length === this.maxFiresPerStep;
    const updatedAt = Date.parse(dispatch.updatedAt);
    const live = (o: number): boolean => now - o <= this.graceMs || o + duration > now;
    const missed = (o: number): boolean => !live(o) && o >= updatedAt && now - o <= catchUp;
    let fires: number[];
    switch (dispatch.misfire) {
      case MisfirePolicy.Skip:
        fires = due.filter(live);
        break;
      case MisfirePolicy.FireOnce:
        fires = due.filter(live);
        if (fires.length === 0) fires = due.filter(missed).slice(-1);
        break;
      case MisfirePolicy.FireAll:
        fires = due.filter((o) => live(o) || missed(o));
        break;
      default:
        dispatch.misfire satisfies never;
        fires = [];
    }
    const skipped = due.filter((o) => !fires.includes(o) && o >= updatedAt);
    if (skipped.length > 0) out.push({ type: 'skip', dispatch, occurrences: skipped });
    for (const o of fires) {
      const until = dispatch.duration === undefined ? undefined : o + dispatch.duration;
      out.push({ type: 'fire', dispatch, occurrence: o, ...(until === undefined ? {} : { until }), late: now - o > this.graceMs });
      entry.lastFired = o;
      if (until === undefined) continue;
      // A late fire of an occurrence whose time is already over starts and stops at once.
      if (until > now) this.heap.push({ at: until, id: dispatch.id, kind: 'stop', occurrence: o });
      else out.push({ type: 'stop', dispatch, occurrence: o });
    }
    entry.decidedUpTo = truncated ? due.at(-1)! : now;
    const next = truncated ? now : schedule.atOrAfter(now + 1);
    if (next !== undefined) this.heap.push({ at: next, id: dispatch.id, kind: 'start', occurrence: next });
  }
}

function max(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

/** Same definition and same change time: a watch redelivery, nothing to do. */
function sameDispatch(a: DispatchMessage, b: DispatchMessage): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What a running occurrence's task would see differently (the seed's runtime attributes). */
function runtimeKey(d: DispatchMessage): string {
  return JSON.stringify([d.task, d.args, d.key ?? null, d.duration ?? null, d.dryRun, d.active, d.start, d.recurrence ?? null, d.timezone ?? null]);
}
