import { Module, type DynamicModule } from '@nestjs/common';
import { NatsModule } from '@taskmesh/nats';
import { Role } from '@taskmesh/protocol';
import { DeadLettersController } from './dead-letters/dead-letters.controller.js';
import { DeadLettersService } from './dead-letters/dead-letters.service.js';
import { ExhaustedWorkService } from './dead-letters/exhausted-work.service.js';
import { InvocationsController } from './invocations/invocations.controller.js';
import { InvocationsService } from './invocations/invocations.service.js';
import { JanitorService } from './invocations/janitor.service.js';
import { RecorderService } from './invocations/recorder.service.js';
import type { OrchestratorConfig } from './orchestrator.config.js';

/** The orchestrator: records every invocation's state changes; serves `mesh.invocations.*` and `mesh.deadletters.list`. */
@Module({})
export class OrchestratorModule {
  static forRoot(config: OrchestratorConfig): DynamicModule {
    return {
      module: OrchestratorModule,
      imports: [NatsModule.forRoot({ ...NatsModule.optionsFrom(config, 'orchestrator', Role.Orchestrator), batchWrites: true })],
      controllers: [InvocationsController, DeadLettersController],
      providers: [RecorderService, InvocationsService, JanitorService, DeadLettersService, ExhaustedWorkService],
    };
  }
}
