/** How a task retries a retryable failure (declared on the task: `@Task({ retry })`). */
export interface RetryPolicy {
  /** Attempts in all, the first included (1 = never retry). */
  maxAttempts: number;
  /** Delay before the second attempt; doubles each attempt. Default DEFAULT_BACKOFF_MS. */
  backoffMs?: number;
  /** The delay never exceeds this. Default DEFAULT_MAX_BACKOFF_MS. */
  maxBackoffMs?: number;
}

/** First retry after 1 s: long enough for a restarted dependency, short enough to notice. */
export const DEFAULT_BACKOFF_MS = 1000;
/** Retries never wait more than 5 minutes (a longer outage is a schedule's job). */
export const DEFAULT_MAX_BACKOFF_MS = 300_000;

/**
 * The delay before attempt `attempt + 1`, or undefined when `attempt` was the last one. Exponential backoff
 * capped at maxBackoffMs, with "equal jitter": half the delay is fixed, half is spread by `jitter` in [0, 1), so
 * retries of a failure that hit many invocations at once do not arrive together. Pure: jitter is an input.
 */
export function retryDelay(policy: RetryPolicy | undefined, attempt: number, jitter: number): number | undefined {
  if (!policy || attempt >= policy.maxAttempts) return undefined;
  const base = policy.backoffMs ?? DEFAULT_BACKOFF_MS;
  const cap = policy.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  const exp = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  const j = Math.min(Math.max(jitter, 0), 1);
  return Math.round(exp / 2 + (exp / 2) * j);
}
