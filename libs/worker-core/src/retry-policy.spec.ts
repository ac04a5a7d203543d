import { retryDelay, DEFAULT_BACKOFF_MS } from './retry-policy.js';

describe(retryDelay.name, () => {
  const policy = { maxAttempts: 4, backoffMs: 100, maxBackoffMs: 300 };

  it('doubles the delay each attempt, between half and all of it depending on the jitter', () => {
    expect([1, 2, 3].map((a) => retryDelay(policy, a, 0))).toEqual([50, 100, 150]);
    expect([1, 2, 3].map((a) => retryDelay(policy, a, 0.999999))).toEqual([100, 200, 300]);
    expect(retryDelay(policy, 2, 0.5)).toBe(150);
  });

  it('caps the delay', () => {
    expect(retryDelay({ maxAttempts: 50, backoffMs: 100, maxBackoffMs: 300 }, 30, 1)).toBe(300);
  });

  it('stops after the last attempt, and never retries without a policy', () => {
    expect(retryDelay(policy, 4, 0.5)).toBeUndefined();
    expect(retryDelay(policy, 9, 0.5)).toBeUndefined();
    expect(retryDelay({ maxAttempts: 1 }, 1, 0.5)).toBeUndefined();
    expect(retryDelay(undefined, 1, 0.5)).toBeUndefined();
  });

  it('uses the default backoff and clamps a jitter out of range', () => {
    expect(retryDelay({ maxAttempts: 2 }, 1, 0)).toBe(DEFAULT_BACKOFF_MS / 2);
    expect(retryDelay(policy, 1, -3)).toBe(50);
    expect(retryDelay(policy, 1, 7)).toBe(100);
  });
});
