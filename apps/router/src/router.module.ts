import { Module, type DynamicModule } from '@nestjs/common';
import { NatsModule } from '@taskmesh/nats';
import { Role } from '@taskmesh/protocol';
import { AdmissionService } from './admission/admission.service.js';
import { StrandedWork } from './admission/stranded-work.js';
import { CallsController } from './calls/calls.controller.js';
import { CallsService } from './calls/calls.service.js';
import { DirectService } from './direct/direct.service.js';
import { OutcomeFollower } from './outcomes/outcome-follower.js';
import { RegistryController } from './registry/registry.controller.js';
import { RegistryService } from './registry/registry.service.js';
import type { RouterConfig } from './router.config.js';

/** The front door: calls, and the worker registry. */
@Module({})
export class RouterModule {
  static forRoot(config: RouterConfig): DynamicModule {
    return {
      module: RouterModule,
      imports: [NatsModule.forRoot({ ...NatsModule.optionsFrom(config, 'router', Role.Router), batchWrites: true })],
      controllers: [CallsController, RegistryController],
      providers: [RegistryService, DirectService, OutcomeFollower, StrandedWork, AdmissionService, CallsService],
    };
  }
}
