import { isNatsUnreachable, MeshTransport } from '@taskmesh/nats';
import { Subjects } from '@taskmesh/protocol';
import { runApp } from '@taskmesh/runtime';
import { OrchestratorConfig } from './orchestrator.config.js';
import { OrchestratorModule } from './orchestrator.module.js';

/** Queue group shared by orchestrator replicas for `mesh.invocations.*`. */
const ORCHESTRATOR_QUEUE = 'mesh-orchestrator';

/** How this app answers NATS micro discovery (`nats micro ls`, `$SRV.INFO`). */
const SERVICE = {
  name: 'taskmesh-orchestrator',
  description: 'taskmesh orchestrator: invocation records (get, wait, cancel, list), deadlines, retention and dead letters',
};

await runApp({
  name: 'orchestrator',
  config: OrchestratorConfig,
  module: (config) => OrchestratorModule.forRoot(config),
  transport: (config) => new MeshTransport(new Subjects(config.MESH_PREFIX), ORCHESTRATOR_QUEUE, SERVICE),
  isUnavailable: isNatsUnreachable,
});
