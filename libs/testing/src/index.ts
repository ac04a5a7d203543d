// Test support for integration and e2e tests: a real nats-server per suite on a random port, the built apps as
// child processes, and waiting with deadlines (never sleep-then-assert). Everything started here stops by itself.

export {
  startNatsServer,
  findNatsServer,
  freePort,
  NatsServerNotFoundError,
  type NatsServer,
  type NatsServerOptions,
} from './nats-server.js';
export { startNatsCluster, type NatsCluster } from './nats-cluster.js';
export { TestUsers, DEFAULT_TEST_PREFIX, type NatsLogin, type NatsAppEnv } from './test-users.js';
export { permissionViolations, PERMISSION_VIOLATION, type ViolationSources } from './permission-violations.js';
export { waitFor, type WaitForOptions, type Truthy } from './wait-for.js';
export {
  spawnApp,
  repoRoot,
  ChildAppProcess,
  type AppName,
  type AppExit,
  type AppProcess,
  type SpawnAppOptions,
} from './app-process.js';
export { ProcessGroup, type Stoppable } from './process-group.js';
export { trackLeftover, untrackLeftover } from './leftovers.js';
