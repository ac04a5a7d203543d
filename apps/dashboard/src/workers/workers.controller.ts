import { Controller, Get } from '@nestjs/common';
import { WorkersService } from './workers.service.js';

/** `GET /api/workers`: the live workers and the recent joined/expired events. */
@Controller('api/workers')
export class WorkersController {
  constructor(private readonly workers: WorkersService) {}

  @Get()
  list(): ReturnType<WorkersService['view']> {
    return this.workers.view();
  }
}
