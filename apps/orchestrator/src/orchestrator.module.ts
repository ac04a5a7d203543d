import { Module, type DynamicModule } from '@nestjs/common';
import { NatsModule } from '#nats';
import { InvocationsController } from './invocations/invocations.controller.js';
import { InvocationsService } from './invocations/invocations.service.js';
import { JanitorService } from './invocations/janitor.service.js';
import { RecorderService } from './invocations/recorder.service.js';
import type { OrchestratorConfig } from './orchestrator.config.js';

/** The orchestrator: records every invocation's state changes and serves `mesh.invocations.*`. */
@Module({})
export class OrchestratorModule {
  static forRoot(config: OrchestratorConfig): DynamicModule {
    return {
      module: OrchestratorModule,
      imports: [NatsModule.forRoot(NatsModule.optionsFrom(config, 'orchestrator'))],
      controllers: [InvocationsController],
      providers: [RecorderService, InvocationsService, JanitorService],
    };
  }
}
