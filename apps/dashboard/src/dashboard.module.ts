import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { MeshClientModule } from '@taskmesh/client/nest';
import type { DashboardConfig } from './dashboard.config.js';
import { DeadLettersController } from './dead-letters/dead-letters.controller.js';
import { DispatchesController } from './dispatches/dispatches.controller.js';
import { DispatchesService } from './dispatches/dispatches.service.js';
import { MeshErrorFilter } from './http/mesh-error.filter.js';
import { InvocationsController } from './invocations/invocations.controller.js';
import { InvocationsService } from './invocations/invocations.service.js';
import { LiveHub } from './live/live-hub.js';
import { LiveController } from './live/live.controller.js';
import { meshConnectOptions, observerProvider } from './mesh/mesh-connection.js';
import { MeshHealth } from './mesh/mesh-health.js';
import { StatsController } from './metrics/stats.controller.js';
import { StatsService } from './metrics/stats.service.js';
import { WorkersController } from './workers/workers.controller.js';
import { WorkersService } from './workers/workers.service.js';

/** The dashboard: the web UI's API over the SDK, and the live updates it pushes (server-sent events). */
@Module({})
export class DashboardModule {
  static forRoot(config: DashboardConfig): DynamicModule {
    return {
      module: DashboardModule,
      imports: [MeshClientModule.forRoot(meshConnectOptions(config))],
      controllers: [LiveController, WorkersController, InvocationsController, DispatchesController, DeadLettersController, StatsController],
      providers: [
        observerProvider, MeshHealth, LiveHub, WorkersService, InvocationsService, DispatchesService, StatsService,
        { provide: APP_FILTER, useClass: MeshErrorFilter },
      ],
    };
  }
}
