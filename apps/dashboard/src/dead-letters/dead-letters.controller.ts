import { Controller, Get, Query } from '@nestjs/common';
import { MeshClient, type DeadLetter } from '@taskmesh/client';
import { InvalidMessageError } from '@taskmesh/protocol';

/** Dead letters listed at most (the orchestrator's maximum, docs/PROTOCOL.md 4.7). */
const MAX_DEAD_LETTERS = 1000;

/** `GET /api/deadletters?limit=n`: the newest dead letters, whole (the page inspects one in place). */
@Controller('api/deadletters')
export class DeadLettersController {
  constructor(private readonly client: MeshClient) {}

  @Get()
  async list(@Query('limit') limit?: string): Promise<{ deadLetters: DeadLetter[] }> {
    const n = limit === undefined ? 100 : Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_DEAD_LETTERS) throw InvalidMessageError.of('dead-letter query', [`limit: must be an integer from 1 to ${MAX_DEAD_LETTERS}`]);
    return { deadLetters: await this.client.deadLetters({ limit: n }) };
  }
}
