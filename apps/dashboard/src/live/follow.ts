import type { Logger } from '@nestjs/common';

/** Pause before a feed that ended with an error (an overloaded reader, a reconnect) is followed again. */
export const REFOLLOW_DELAY_MS = 1_000;

/**
 * Follows a feed until `signal` aborts: each item goes to `each`; when the feed ends or fails it is opened again
 * after REFOLLOW_DELAY_MS (a feed falls behind only under a burst; what it missed, the views read again).
 */
export async function followForever<T>(name: string, open: (signal: AbortSignal) => AsyncIterable<T>, each: (item: T) => void, signal: AbortSignal, log: Logger): Promise<void> {
  while (!signal.aborted) {
    try {
      for await (const item of open(signal)) each(item);
    } catch (err) {
      log.warn({ msg: `${name} feed stopped: following it again`, reason: (err as Error)?.message ?? String(err) });
    }
    if (!signal.aborted) await new Promise((resolve) => setTimeout(resolve, REFOLLOW_DELAY_MS).unref());
  }
}

/** Runs `tick` every `periodMs` (never two at once) until `signal` aborts; a failing tick is logged, not fatal. */
export async function everyPeriod(name: string, periodMs: number, tick: () => Promise<void>, signal: AbortSignal, log: Logger): Promise<void> {
  while (!signal.aborted) {
    try {
      await tick();
    } catch (err) {
      log.warn({ msg: `${name} failed`, reason: (err as Error)?.message ?? String(err) });
    }
    await new Promise<void>((resolve) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve();
      };
      // One listener at a time: it is removed when the period ends, so a long run does not pile them up.
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, periodMs);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** A bounded list, newest last: the recent events a view shows when it opens. */
export class Recent<T> {
  private readonly items: T[] = [];

  constructor(private readonly bound: number) {}

  add(item: T): void {
    this.items.push(item);
    if (this.items.length > this.bound) this.items.shift();
  }

  list(): T[] {
    return [...this.items];
  }
}
