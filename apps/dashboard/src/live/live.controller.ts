import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Req, Res } from '@nestjs/common';
import { LiveHub } from './live-hub.js';

/**
 * Bytes a page may leave unread on its stream; past it the stream is closed. The browser's EventSource reconnects
 * and the page reads its view again, so a slow or stalled page costs a re-read, never unbounded memory here.
 */
export const MAX_UNREAD_BYTES = 1_048_576;

/** `GET /api/live`: the live updates, pushed as server-sent events (`event: <type>`, `data: <json>`); the page never polls. */
@Controller('api')
export class LiveController {
  constructor(private readonly hub: LiveHub) {}

  @Get('live')
  live(@Req() req: IncomingMessage, @Res() res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': taskmesh dashboard\n\n');
    const subscription = this.hub.stream().subscribe({
      next: (e) => {
        if (res.writableLength > MAX_UNREAD_BYTES) {
          subscription.unsubscribe();
          res.end();
          return;
        }
        res.write(`event: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`);
      },
      complete: () => res.end(),
    });
    res.on('close', () => subscription.unsubscribe());
  }
}
