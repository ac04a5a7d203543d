import { setTimeout as sleep } from 'node:timers/promises';

/** How long and how often `waitFor` polls, and what it is waiting for (named in the timeout error). */
export interface WaitForOptions {
  timeoutMs: number;
  /** Pause between two probes (default 25 ms). */
  intervalMs?: number;
  /** What the wait is for, e.g. `worker w1 to be expired`. */
  what: string;
}

const DEFAULT_INTERVAL_MS = 25;

/** `T` without its falsy members: what a successful `waitFor` returns. */
export type Truthy<T> = Exclude<T, false | 0 | 0n | '' | null | undefined>;

/**
 * Polls `probe` until it returns a truthy value and returns that value; throws
 * `Timed out after <N>ms waiting for <what>` when the deadline passes first. A probe that throws counts as
 * "not yet" (its last error is quoted in the timeout message), and a probe that hangs cannot outlive the deadline.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, opts: WaitForOptions): Promise<Truthy<T>> {
  const started = performance.now();
  const deadline = started + opts.timeoutMs;
  const interval = Math.max(1, opts.intervalMs ?? DEFAULT_INTERVAL_MS);
  let lastError: unknown;
  // Bounded by the deadline: every turn either returns, or sleeps until at most the deadline.
  for (;;) {
    const remaining = deadline - performance.now();
    if (remaining <= 0) break;
    try {
      const outcome = await withinMs(Promise.resolve().then(probe), remaining);
      if (outcome.done && outcome.value) return outcome.value as Truthy<T>;
      if (!outcome.done) break;
    } catch (err) {
      lastError = err;
    }
    const left = deadline - performance.now();
    if (left <= 0) break;
    await sleep(Math.min(interval, left));
  }
  const suffix = lastError === undefined ? '' : ` (last probe error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
  throw new Error(`Timed out after ${opts.timeoutMs}ms waiting for ${opts.what}${suffix}`);
}

/** Settles with the promise's value, or `{ done: false }` after `ms` (the timer never keeps the process alive). */
async function withinMs<T>(promise: Promise<T>, ms: number): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
    timer.unref();
  });
  const settled = promise.then((value) => ({ done: true as const, value }));
  // A probe that rejects after the deadline must not surface as an unhandled rejection.
  settled.catch(() => undefined);
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
