import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { interval, map, merge, Observable, Subject, takeUntil } from 'rxjs';

/** What the page is told, by event name (docs/ARCHITECTURE.md, "The dashboard"). */
export type LiveEventType = 'worker' | 'workers' | 'invocation' | 'dispatch' | 'stats';

/** A comment-like `ping` this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

/**
 * Fans every live update out to the pages connected to `/api/live` (server-sent events). Closing it ends every
 * stream, so the HTTP server can stop: it waits for open responses, and an event stream never ends by itself.
 */
@Injectable()
export class LiveHub implements OnModuleDestroy {
  private readonly events = new Subject<{ type: LiveEventType; data: unknown }>();
  private readonly closed = new Subject<void>();

  publish(type: LiveEventType, data: unknown): void {
    this.events.next({ type, data });
  }

  /** The updates from now on, and a `ping` every KEEPALIVE_MS, until the hub closes. */
  stream(): Observable<{ type: LiveEventType | 'ping'; data: unknown }> {
    const pings = interval(KEEPALIVE_MS).pipe(map(() => ({ type: 'ping' as const, data: {} })));
    return merge(this.events, pings).pipe(takeUntil(this.closed));
  }

  /** Runs before the HTTP server closes (Nest's destroy hooks come first). */
  onModuleDestroy(): void {
    this.closed.next();
    this.closed.complete();
    this.events.complete();
  }
}
