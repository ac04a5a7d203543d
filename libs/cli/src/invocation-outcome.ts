import type { MeshClientApi } from '@taskmesh/client';
import { InterruptedError, isStillRunning } from './exit-codes.js';
import type { ProgressSink } from './progress.js';

/**
 * Longest single `wait` request: the CLI waits in slices, so an invocation that runs for hours is waited for by
 * requests the mesh answers in bounded time (a `wait` answers the current state when its own timeout runs out).
 */
export const WAIT_SLICE_MS = 60_000;

/** How long the events may take to stop once the outcome is known. */
const EVENTS_STOP_MS = 500;

/** Options of awaitOutcome. */
export interface OutcomeOptions {
  /** Fed with the invocation's events while it runs, and with the outcome. */
  view?: ProgressSink;
  /** Ctrl-C: stop waiting (rejects with InterruptedError; the invocation goes on). */
  signal: AbortSignal;
  /** Stop waiting after this long (rejects with the still-running TIMEOUT of `wait`); default: until the outcome. */
  timeoutMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * The outcome of invocation `id`, however long it runs: resolves with its result, rejects with its failure's
 * MeshError. The outcome comes from `wait` (the contract's answer); the events only move the bar, so a lost or late
 * event can never change what is printed.
 */
export async function awaitOutcome(client: MeshClientApi, id: string, options: OutcomeOptions): Promise<unknown> {
  const { view, signal } = options;
  const stopEvents = new AbortController();
  const fed = view === undefined ? Promise.resolve() : feed(client, id, view, stopEvents.signal);
  try {
    const result = await waitInSlices(client, id, options);
    view?.see({ state: 'SUCCESS' });
    return result;
  } catch (err) {
    if (!(err instanceof InterruptedError) && !isStillRunning(err) && !signal.aborted) view?.see({ state: 'FAILURE' });
    throw err;
  } finally {
    stopEvents.abort();
    // The events end on the abort; a client slow to notice must not hold the outcome back.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([fed, new Promise((resolve) => (timer = setTimeout(resolve, EVENTS_STOP_MS)))]);
    clearTimeout(timer);
    view?.stop();
  }
}

async function waitInSlices(client: MeshClientApi, id: string, options: OutcomeOptions): Promise<unknown> {
  const now = options.now ?? Date.now;
  const deadline = options.timeoutMs === undefined ? Infinity : now() + options.timeoutMs;
  for (;;) {
    if (options.signal.aborted) throw new InterruptedError();
    const slice = Math.max(1, Math.min(deadline - now(), WAIT_SLICE_MS));
    try {
      return await untilAborted(client.wait(id, { timeoutMs: slice, signal: options.signal }), options.signal);
    } catch (err) {
      if (options.signal.aborted) throw new InterruptedError();
      if (isStillRunning(err) && now() < deadline) continue;
      throw err;
    }
  }
}

/** `work`, or InterruptedError as soon as `signal` aborts (a client slow to notice the signal must not hold Ctrl-C). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new InterruptedError());
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Feeds the bar until `stop`; its errors are dropped (the bar is a courtesy, the outcome comes from `wait`). */
async function feed(client: MeshClientApi, id: string, view: ProgressSink, stop: AbortSignal): Promise<void> {
  try {
    for await (const response of client.events(id, { signal: stop })) {
      if (stop.aborted) break;
      view.see(response);
    }
  } catch {
    // stopped, or the events could not be read: the bar stays where it is
  }
}
