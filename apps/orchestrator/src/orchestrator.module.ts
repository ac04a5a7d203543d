import { Module, type DynamicModule } from '@nestjs/common';
import { NatsModule } from '#nats';
import type { OrchestratorConfig } from './orchestrator.config.js';

/** The orchestrator: connects and declares the mesh topology; its features arrive with their issues. */
@Module({})
export class OrchestratorModule {
  static forRoot(config: OrchestratorConfig): DynamicModule {
    return { module: OrchestratorModule, imports: [NatsModule.forRoot(NatsModule.optionsFrom(config, 'orchestrator'))] };
  }
}
