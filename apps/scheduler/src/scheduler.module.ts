import { Module, type DynamicModule } from '@nestjs/common';
import { NatsModule } from '@taskmesh/nats';
import { Role } from '@taskmesh/protocol';
import { dispatchStoreProvider } from './dispatches/dispatch-store.provider.js';
import { DispatchesController } from './dispatches/dispatches.controller.js';
import { DispatchesService } from './dispatches/dispatches.service.js';
import type { SchedulerConfig } from './scheduler.config.js';
import { SchedulerService } from './timeline/scheduler.service.js';

/** The scheduler: serves `mesh.dispatches.*` and, on the replica holding the lease, fires the dispatches. */
@Module({})
export class SchedulerModule {
  static forRoot(config: SchedulerConfig): DynamicModule {
    return {
      module: SchedulerModule,
      imports: [NatsModule.forRoot({ ...NatsModule.optionsFrom(config, 'scheduler', Role.Scheduler), batchWrites: true })],
      controllers: [DispatchesController],
      providers: [dispatchStoreProvider, DispatchesService, SchedulerService],
    };
  }
}
