import { Module, type DynamicModule } from '@nestjs/common';
import { NatsModule } from '#nats';
import type { SchedulerConfig } from './scheduler.config.js';

/** The scheduler: connects and declares the mesh topology; its features arrive with their issues. */
@Module({})
export class SchedulerModule {
  static forRoot(config: SchedulerConfig): DynamicModule {
    return { module: SchedulerModule, imports: [NatsModule.forRoot(NatsModule.optionsFrom(config, 'scheduler'))] };
  }
}
