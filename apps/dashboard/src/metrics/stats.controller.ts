import { Controller, Get } from '@nestjs/common';
import type { StatsSample } from './stats-delta.js';
import { StatsService } from './stats.service.js';

/** `GET /api/stats`: the recent samples, oldest first; newer ones arrive on `/api/live`. */
@Controller('api/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get()
  history(): { samples: StatsSample[] } {
    return { samples: this.stats.history() };
  }
}
