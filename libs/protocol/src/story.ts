/**
 * `mesh.invocations.story` (docs/PROTOCOL.md section 4.13): what the worker cores that ran an invocation saw and
 * did about it, one line per stimulus and per instruction, gathered from the workers' in-memory stimulus logs.
 */

/** One line of an invocation's story. */
export interface StoryLine {
  /** When the worker's core got the stimulus (ISO-8601, from the worker's clock). */
  at: string;
  /** The attempt it belongs to, when the line says (deliveries, executions, reports do). */
  attempt?: number;
  /** The worker whose core logged it. */
  worker: string;
  /** What came in (`stimulus`) or what the core decided to do (`instruction`). */
  kind: 'stimulus' | 'instruction';
  /** The stimulus or instruction type (`work-received`, `execute`, `store-outcome`, ...). */
  type: string;
  /** Its other fields (payload bytes left out; a field too large is replaced by `{ truncated, bytes }`). */
  detail?: Record<string, unknown>;
}

/** An attempt the record counts that no worker's log covers (its worker is gone, or its log rolled over). */
export interface MissingAttempt {
  attempt: number;
  /** The worker the record names for it, when it names one (the record keeps the last attempt's worker). */
  worker?: string;
}

/** One worker's answer on `<p>.story`. */
export interface WorkerStory {
  worker: string;
  entries: StoryLine[];
  /** True when the worker had more entries than it sent (the newest were kept). */
  truncated?: boolean;
}

/** The reply of `mesh.invocations.story`: lines of every worker that answered, by time. */
export interface InvocationStory {
  id: string;
  entries: StoryLine[];
  /** The workers that answered with at least one entry. */
  workers: string[];
  /** Attempts (1..the record's attempts) no entry covers; absent when none is missing. */
  missing?: MissingAttempt[];
  /** True when entries were left out to stay within MAX_STORY_LINES or MAX_STORY_BYTES (the newest are kept). */
  truncated?: boolean;
}

/** Entries one worker sends for one invocation at most. */
export const MAX_WORKER_STORY_LINES = 500;
/** Entries of a merged story at most. */
export const MAX_STORY_LINES = 1_000;
/** JSON characters of a merged story's entries at most: well inside the largest message (MAX_MESSAGE_BYTES). */
export const MAX_STORY_BYTES = 512 * 1024;
/** A detail field larger than this (JSON bytes) is replaced by `{ truncated: true, bytes }`: 1000 lines stay well under 1 MiB. */
export const MAX_STORY_DETAIL_BYTES = 512;
