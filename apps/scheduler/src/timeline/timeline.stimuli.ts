import type { DispatchMessage } from '#protocol';

/** What the timeline is told. `now` is epoch ms from the injected clock: the timeline never reads one. */
export type TimelineStimulus =
  /** The whole store, as read after becoming leader or after a lost watch: the timeline works out new / updated / deleted. */
  | { type: 'sync'; now: number; dispatches: readonly DispatchMessage[]; fired: ReadonlyMap<string, number> }
  /** One dispatch was written (created or updated). `lastFired` is its persisted last fired occurrence, if known. */
  | { type: 'upsert'; now: number; dispatch: DispatchMessage; lastFired?: number }
  /** One dispatch was deleted. */
  | { type: 'remove'; now: number; id: string }
  /** The timer went off (or anything else made the shell look at the clock). */
  | { type: 'tick'; now: number };

/** What the shell must do. Occurrence and until are epoch ms. */
export type TimelineAction =
  /** Submit the task for this occurrence (invocation id `dispatch:<id>:<occurrence>`), publish `started`, persist the mark. */
  | { type: 'fire'; dispatch: DispatchMessage; occurrence: number; until?: number; late: boolean }
  /** The occurrence's duration is over, or the dispatch was deleted while it ran: publish `stopped`. */
  | { type: 'stop'; dispatch: DispatchMessage; occurrence: number }
  /** A change while running: publish `started` (it still runs, with new runtime attributes) or `stopped` (it no longer does). */
  | { type: 'notify'; event: 'started' | 'stopped'; dispatch: DispatchMessage; occurrence: number; until?: number }
  /** Occurrences missed while no scheduler led, not fired because of the misfire policy or the catch-up window. */
  | { type: 'skip'; dispatch: DispatchMessage; occurrences: number[] }
  /** The dispatch is gone: drop its persisted mark. */
  | { type: 'forget'; id: string }
  /** The dispatch cannot be scheduled (its recurrence no longer compiles, or the bound on dispatches is reached). */
  | { type: 'refuse'; dispatch: DispatchMessage; reason: string };
