import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { INVOCATION_ID_PATTERN, InvalidMessageError } from '@taskmesh/protocol';
import { parseInvocationQuery } from './invocation-query.js';
import { InvocationsService } from './invocations.service.js';

/**
 * `GET /api/invocations` (filters and page in the query), `GET /api/invocations/:id`, `GET /api/invocations/:id/story`
 * (what the workers' cores logged about it), `POST /api/invocations/:id/cancel`.
 */
@Controller('api/invocations')
export class InvocationsController {
  constructor(private readonly invocations: InvocationsService) {}

  @Get()
  list(@Query() query: Record<string, unknown>): ReturnType<InvocationsService['page']> {
    return this.invocations.page(parseInvocationQuery(query));
  }

  @Get(':id')
  detail(@Param('id') id: string): ReturnType<InvocationsService['detail']> {
    return this.invocations.detail(checkId(id));
  }

  @Get(':id/story')
  story(@Param('id') id: string): ReturnType<InvocationsService['story']> {
    return this.invocations.story(checkId(id));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  async cancel(@Param('id') id: string): Promise<{ state: string; code?: string }> {
    const answer = await this.invocations.cancel(checkId(id));
    return { state: answer.state, ...(answer.failure ? { code: answer.failure.code } : {}) };
  }
}

function checkId(id: string): string {
  if (!INVOCATION_ID_PATTERN.test(id)) throw InvalidMessageError.of('invocation id', [`id: must match ${String(INVOCATION_ID_PATTERN)}`]);
  return id;
}
