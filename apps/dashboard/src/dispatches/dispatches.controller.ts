import { Body, Controller, Delete, Get, HttpCode, Param, Patch } from '@nestjs/common';
import { DISPATCH_ID_PATTERN, InvalidMessageError, type DispatchRecord } from '@taskmesh/protocol';
import { DispatchesService } from './dispatches.service.js';

/** `GET /api/dispatches`, `PATCH /api/dispatches/:id` with `{"active": boolean}` (pause, resume), `DELETE /api/dispatches/:id`. */
@Controller('api/dispatches')
export class DispatchesController {
  constructor(private readonly dispatches: DispatchesService) {}

  @Get()
  view(): ReturnType<DispatchesService['view']> {
    return this.dispatches.view();
  }

  @Patch(':id')
  setActive(@Param('id') id: string, @Body() body: unknown): Promise<DispatchRecord> {
    const active = (body as { active?: unknown } | undefined)?.active;
    const extra = typeof body === 'object' && body !== null ? Object.keys(body).filter((k) => k !== 'active') : [];
    if (typeof active !== 'boolean' || extra.length > 0) throw InvalidMessageError.of('dispatch change', ['body: must be {"active": true|false}']);
    return this.dispatches.setActive(checkId(id), active);
  }

  @Delete(':id')
  @HttpCode(200)
  async delete(@Param('id') id: string): Promise<{ deleted: string }> {
    await this.dispatches.delete(checkId(id));
    return { deleted: id };
  }
}

function checkId(id: string): string {
  if (!DISPATCH_ID_PATTERN.test(id)) throw InvalidMessageError.of('dispatch id', [`id: must match ${String(DISPATCH_ID_PATTERN)}`]);
  return id;
}
