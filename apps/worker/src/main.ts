import { isNatsUnreachable } from '#nats';
import { runApp } from '#runtime';
import { WorkerAppModule } from './worker-app.module.js';
import { WorkerConfig } from '#worker';

await runApp({
  name: 'worker',
  config: WorkerConfig,
  module: (config) => WorkerAppModule.forRoot(config),
  // Running tasks get the drain timeout, plus time to release the rest and close the connections.
  shutdownTimeoutMs: (config) => config.MESH_DRAIN_TIMEOUT_MS + 10_000,
  isUnavailable: isNatsUnreachable,
});
