import { Controller, Sse, type MessageEvent } from '@nestjs/common';
import { merge, interval, map, type Observable } from 'rxjs';
import { LiveHub } from './live-hub.js';

/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

/** `GET /api/live`: the live updates, pushed as server-sent events; the page never polls. */
@Controller('api')
export class LiveController {
  constructor(private readonly hub: LiveHub) {}

  @Sse('live')
  live(): Observable<MessageEvent> {
    return merge(this.hub.stream(), interval(KEEPALIVE_MS).pipe(map(() => ({ type: 'ping', data: {} }))));
  }
}
