import type { JsonObject } from '@taskmesh/protocol';

/** What the progress bar shows: `value` of `total`, and the invocation's last state. */
export interface Progress {
  value: number;
  total: number;
  state: string;
}

/** The bar before anything is known: one unit to go. */
export const NO_PROGRESS: Progress = Object.freeze({ value: 0, total: 1, state: 'WAITING' });

/** The fields of a RESPONSE the bar reads (events and outcomes). */
export interface ProgressSource {
  state: string;
  data?: unknown;
}

/**
 * Folds one of an invocation's RESPONSEs into the bar. Pure. A `progress` EVENT moves it: its details are
 * `{step, steps}` (the demo tasks), `{done, total}` or `{percent}`; a state change only renames it; SUCCESS fills it.
 * A retry that starts over (a smaller step) moves it back, which is the truth.
 */
export function nextProgress(p: Progress, r: ProgressSource): Progress {
  if (r.state === 'SUCCESS') return { value: p.total, total: p.total, state: r.state };
  if (r.state !== 'EVENT') return { ...p, state: r.state };
  const data = r.data as { eventType?: unknown; details?: JsonObject } | undefined;
  if (data?.eventType !== 'progress' || data.details === undefined) return p;
  const d = data.details;
  const fraction = (done: unknown, total: unknown): Progress | undefined =>
    isCount(done) && isCount(total) && total > 0 ? { value: Math.min(done, total), total, state: p.state } : undefined;
  return fraction(d['step'], d['steps'])
    ?? fraction(d['done'], d['total'])
    ?? (typeof d['percent'] === 'number' && d['percent'] >= 0 ? { value: Math.min(100, d['percent']), total: 100, state: p.state } : p);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** What shows progress: the bar (ProgressView), or a fake in tests. */
export interface ProgressSink {
  see(response: ProgressSource): void;
  stop(): void;
}
