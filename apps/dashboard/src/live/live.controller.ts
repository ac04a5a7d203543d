import { Controller, Sse, type MessageEvent } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { LiveHub } from './live-hub.js';

/** `GET /api/live`: the live updates, pushed as server-sent events; the page never polls. */
@Controller('api')
export class LiveController {
  constructor(private readonly hub: LiveHub) {}

  @Sse('live')
  live(): Observable<MessageEvent> {
    return this.hub.stream();
  }
}
