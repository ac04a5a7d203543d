import { Module, type DynamicModule } from '@nestjs/common';
import { NatsModule } from '#nats';
import { DispatchesController } from './dispatches/dispatches.controller.js';
import { DispatchesService } from './dispatches/dispatches.service.js';
import { SchedulerService } from './firing/scheduler.service.js';
import type { SchedulerConfig } from './scheduler.config.js';

/** The scheduler: serves `mesh.dispatches.*` on every replica; the replica holding the leader lease fires. */
@Module({})
export class SchedulerModule {
  static forRoot(config: SchedulerConfig): DynamicModule {
    return {
      module: SchedulerModule,
      imports: [NatsModule.forRoot(NatsModule.optionsFrom(config, 'scheduler'))],
      controllers: [DispatchesController],
      providers: [DispatchesService, SchedulerService],
    };
  }
}
