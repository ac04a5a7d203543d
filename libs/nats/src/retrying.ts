/**
 * Runs `attempt` again while it fails with an error `retryable` accepts, pausing between tries (from `firstPauseMs`,
 * doubling up to `maxPauseMs`), until `forMs` has passed: then the last error is thrown. `attempt` is told how long is
 * left (ms), e.g. to bound its own wait. For operations whose outcome may be unknown and that are safe to repeat.
 */
export async function retrying<T>(
  attempt: (leftMs: number) => Promise<T>,
  opts: { forMs: number; retryable: (err: unknown) => boolean; firstPauseMs: number; maxPauseMs: number },
): Promise<T> {
  const giveUpAt = performance.now() + opts.forMs;
  for (let pause = opts.firstPauseMs; ; pause = Math.min(2 * pause, opts.maxPauseMs)) {
    try {
      return await attempt(giveUpAt - performance.now());
    } catch (err) {
      if (!opts.retryable(err) || performance.now() + pause >= giveUpAt) throw err;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
