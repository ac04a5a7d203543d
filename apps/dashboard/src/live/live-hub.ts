import { Injectable, type MessageEvent } from '@nestjs/common';
import { Observable, Subject, map } from 'rxjs';

/** What the page is told, by event name (docs: apps/dashboard/README.md). */
export type LiveEventType = 'worker' | 'workers' | 'invocation' | 'dispatch' | 'stats';

/** Fans every live update out to the pages connected to `/api/live` (server-sent events). */
@Injectable()
export class LiveHub {
  private readonly events = new Subject<{ type: LiveEventType; data: unknown }>();

  publish(type: LiveEventType, data: unknown): void {
    this.events.next({ type, data });
  }

  /** The updates from now on, as server-sent events (`event: <type>`, `data: <json>`). */
  stream(): Observable<MessageEvent> {
    return this.events.pipe(map((e) => ({ type: e.type, data: e.data as object })));
  }

  /** Ends every stream (shutdown). */
  close(): void {
    this.events.complete();
  }
}
