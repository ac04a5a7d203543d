import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { MeshClient, type DeadLetter, type RedriveReply } from '@taskmesh/client';
import { InvalidMessageError } from '@taskmesh/protocol';
import { paginate, type Page } from '../invocations/invocation-query.js';
import { redriveTarget } from './redrive-target.js';

/** Dead letters read at most (the orchestrator's maximum, docs/PROTOCOL.md 4.7): the newest. */
const WINDOW = 1000;
const MAX_PAGE_SIZE = 200;

/**
 * `GET /api/deadletters?page=&size=`: a page of the newest dead letters, each whole (the page inspects one in place);
 * `POST /api/deadletters/redrive` with `{"id"}` or `{"all": true, "task"?}`: put them back (docs/PROTOCOL.md 4.12).
 */
@Controller('api/deadletters')
export class DeadLettersController {
  constructor(private readonly client: MeshClient) {}

  @Get()
  async list(@Query('page') page?: string, @Query('size') size?: string): Promise<Page<DeadLetter>> {
    const p = page === undefined ? 1 : Number(page);
    const n = size === undefined ? 50 : Number(size);
    const problems = [
      ...(Number.isInteger(p) && p >= 1 && p <= WINDOW ? [] : [`page: must be an integer from 1 to ${WINDOW}`]),
      ...(Number.isInteger(n) && n >= 1 && n <= MAX_PAGE_SIZE ? [] : [`size: must be an integer from 1 to ${MAX_PAGE_SIZE}`]),
    ];
    if (problems.length > 0) throw InvalidMessageError.of('dead-letter query', problems);
    const letters = await this.client.deadLetters({ limit: WINDOW });
    return paginate(letters, p, n, letters.length >= WINDOW);
  }

  @Post('redrive')
  @HttpCode(200)
  redrive(@Body() body: unknown): Promise<RedriveReply> {
    return this.client.redrive(redriveTarget(body));
  }
}
