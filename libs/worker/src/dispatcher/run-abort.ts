/**
 * A run's abort signal, made only when someone first asks for it. Most handlers never look at `ctx.signal`, and an
 * AbortController per run was a measurable part of a direct call's cost on the worker (docs/BENCHMARKS.md). Asked
 * for after the abort, the signal is already aborted with the same reason, so a handler cannot tell the difference.
 */
export class RunAbort {
  private controller?: AbortController;
  private why?: Error;
  private done = false;

  /** Whether the run was aborted (timeout, cancellation, release), without making the signal. */
  get aborted(): boolean {
    return this.done;
  }

  /** The run's signal: the same one every time, aborted with the first reason given to abort(). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.done) this.controller.abort(this.why);
    }
    return this.controller.signal;
  }

  /** Aborts the run; only the first call counts, like AbortController.abort. */
  abort(reason: Error): void {
    if (this.done) return;
    this.done = true;
    this.why = reason;
    this.controller?.abort(reason);
  }
}
