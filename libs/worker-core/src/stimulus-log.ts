import type { Instruction } from './instructions.js';
import type { Stimulus } from './stimuli.js';

/** Keep this many stimuli when the config says nothing: minutes of a busy worker, a few MB at most. */
export const DEFAULT_LOG_SIZE = 1000;

/** One line of the stimulus log: what came in (payload bytes left out), what went out, which invocations it touched. */
export interface StoryEntry {
  stimulus: Omit<Stimulus, 'data'>;
  instructions: Instruction[];
  invocations: string[];
}

/**
 * A fixed-size ring of the last `size` stimuli and the instructions they produced (dask's `stimulus_log`).
 * A ring rather than an array trimmed from the front, so recording stays O(1) however large the log is.
 */
export class StimulusLog {
  private readonly entries: (StoryEntry | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly size: number = DEFAULT_LOG_SIZE) {
    // A log of 0 would make story() useless but must not break the core; keep at least one entry.
    this.entries = new Array<StoryEntry | undefined>(Math.max(1, Math.floor(size) || 1));
  }

  /** Number of entries kept (at most the size). */
  get length(): number {
    return this.count;
  }

  /** Records one stimulus (without its payload bytes, which can be large and are not needed for a post-mortem). */
  record(stimulus: Stimulus, instructions: Instruction[], invocations: string[]): void {
    // Only the stimuli that carry bytes are copied (without them); the others are kept as they are (a stimulus is
    // never changed once fed, and a copy per stimulus is garbage the worker pays for on every call).
    let kept: Omit<Stimulus, 'data'> = stimulus;
    if ('data' in stimulus) {
      const { data: _data, ...rest } = stimulus;
      kept = rest;
    }
    this.entries[this.next] = { stimulus: kept, instructions, invocations };
    this.next = (this.next + 1) % this.entries.length;
    this.count = Math.min(this.count + 1, this.entries.length);
  }

  /** The kept entries that touched `invocationId`, oldest first. */
  story(invocationId: string): StoryEntry[] {
    const out: StoryEntry[] = [];
    const start = (this.next - this.count + this.entries.length) % this.entries.length;
    for (let i = 0; i < this.count; i++) {
      const e = this.entries[(start + i) % this.entries.length];
      if (e?.invocations.includes(invocationId)) out.push(e);
    }
    return out;
  }
}
