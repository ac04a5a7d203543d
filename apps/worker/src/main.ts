import { isNatsUnreachable } from '@taskmesh/nats';
import { runApp } from '@taskmesh/runtime';
import { WorkerAppModule } from './worker-app.module.js';
import { WorkerConfig } from '@taskmesh/worker';

await runApp({
  name: 'worker',
  config: WorkerConfig,
  module: (config) => WorkerAppModule.forRoot(config),
  // Running tasks get the drain timeout, plus time to release the rest and close the connections.
  shutdownTimeoutMs: (config) => config.MESH_DRAIN_TIMEOUT_MS + 10_000,
  isUnavailable: isNatsUnreachable,
});
