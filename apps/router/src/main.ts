import { isNatsUnreachable, MeshTransport } from '@taskmesh/nats';
import { Subjects } from '@taskmesh/protocol';
import { runApp } from '@taskmesh/runtime';
import { RouterConfig } from './router.config.js';
import { RouterModule } from './router.module.js';

/** Queue group shared by router replicas for calls and list requests. */
const ROUTER_QUEUE = 'mesh-router';

/** How this app answers NATS micro discovery (`nats micro ls`, `$SRV.INFO`). */
const SERVICE = {
  name: 'taskmesh-router',
  description: 'taskmesh router: calls and submits (admission, durable queueing, direct placement) and the live worker list',
};

await runApp({
  name: 'router',
  config: RouterConfig,
  module: (config) => RouterModule.forRoot(config),
  transport: (config) => new MeshTransport(new Subjects(config.MESH_PREFIX), ROUTER_QUEUE, SERVICE),
  isUnavailable: isNatsUnreachable,
});
