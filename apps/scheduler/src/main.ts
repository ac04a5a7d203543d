import { isNatsUnreachable, MeshTransport } from '@taskmesh/nats';
import { Subjects } from '@taskmesh/protocol';
import { runApp } from '@taskmesh/runtime';
import { SchedulerConfig } from './scheduler.config.js';
import { SchedulerModule } from './scheduler.module.js';

/** Queue group shared by scheduler replicas for `mesh.dispatches.*`. */
const SCHEDULER_QUEUE = 'mesh-scheduler';

/** How this app answers NATS micro discovery (`nats micro ls`, `$SRV.INFO`). */
const SERVICE = {
  name: 'taskmesh-scheduler',
  description: 'taskmesh scheduler: dispatches (scheduled and recurring submits)',
};

await runApp({
  name: 'scheduler',
  config: SchedulerConfig,
  module: (config) => SchedulerModule.forRoot(config),
  transport: (config) => new MeshTransport(new Subjects(config.MESH_PREFIX), SCHEDULER_QUEUE, SERVICE),
  isUnavailable: isNatsUnreachable,
});
