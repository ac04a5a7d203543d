import { Module, type DynamicModule } from '@nestjs/common';
import { NatsModule } from '@taskmesh/nats';
import { WorkerModule, type WorkerConfig } from '@taskmesh/worker';
import { DemoTasks } from './demo/demo.tasks.js';

/** The stock worker: the worker module plus the demo tasks. A user's worker is the same with its own providers. */
@Module({})
export class WorkerAppModule {
  static forRoot(config: WorkerConfig): DynamicModule {
    return {
      module: WorkerAppModule,
      imports: [NatsModule.forRoot({ ...NatsModule.optionsFrom(config, 'worker'), batchWrites: true }), WorkerModule.forRoot(WorkerModule.optionsFrom(config))],
      providers: [DemoTasks],
    };
  }
}
