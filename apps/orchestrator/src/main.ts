import { isNatsUnreachable } from '#nats';
import { runApp } from '#runtime';
import { OrchestratorConfig } from './orchestrator.config.js';
import { OrchestratorModule } from './orchestrator.module.js';

await runApp({
  name: 'orchestrator',
  config: OrchestratorConfig,
  module: (config) => OrchestratorModule.forRoot(config),
  isUnavailable: isNatsUnreachable,
});
