// What the local runner (scripts/cluster.mjs) starts: its nats-server nodes with their config, and its apps with
// the environment of each. Pure (no I/O, no process.env read here), so that test/integration/compose.int.ts can
// check that the runner sets the same variables as docker-compose.yml, and that the apps' config classes accept them.

/**
 * NATS node counts the runner accepts. A JetStream cluster needs a majority to write: 3 nodes survive the loss of 1,
 * 5 of 2, and an even count survives no more than the odd count below it while it needs one more node to agree. 5 is
 * the most replicas JetStream gives a stream, so every stream and bucket can have one copy per node.
 */
export const NATS_NODE_COUNTS = [1, 3, 5];

/** Variables every app gets, with the value the runner and docker-compose.yml use (an environment variable of the same name wins). */
const SHARED_DEFAULTS = {
  MESH_PREFIX: 'mesh',
  LOG_LEVEL: 'info',
  MESH_NOTIFY_PERIOD_MS: '5000',
  MESH_EXPIRES_AFTER_MS: '15000',
  // Retention (docs/PROTOCOL.md section 9; sizing in docs/ARCHITECTURE.md, "Retention and sizing").
  MESH_EVENTS_MAX_AGE_MS: '86400000',
  MESH_EVENTS_MAX_BYTES: '1073741824',
};
const ORCHESTRATOR_DEFAULTS = {
  MESH_PURGE_AFTER_MS: '604800000',
  MESH_PURGE_GENERATED_AFTER_MS: '600000',
  MESH_INVOCATIONS_MAX_RECORDS: '1000000',
  MESH_INVOCATIONS_MAX_BYTES: '1073741824',
};
const WORKER_DEFAULTS = { MESH_WORKER_CONCURRENCY: '64' };

/**
 * The nats-server nodes: one on `port` (store `<dir>/jetstream`, as the runner always did), or `nodes` clustered on
 * loopback, node i (1-based) on `port + i - 1`, its routes on `clusterPort + i - 1`, its monitor on
 * `monitorPort + i - 1` (0: any free port), its store under `<dir>/nats-<i>`.
 */
export function natsNodes({ nodes, port, monitorPort, clusterPort, dir, auth }) {
  const list = Array.from({ length: nodes }, (_, i) => ({
    name: nodes === 1 ? 'nats' : `nats-${i + 1}`,
    port: port + i,
    monitorPort: monitorPort === 0 ? 0 : monitorPort + i,
    routePort: clusterPort + i,
  }));
  const routes = list.map((n) => `nats-route://127.0.0.1:${n.routePort}`).join(', ');
  return list.map((n) => {
    const store = nodes === 1 ? `${dir}/jetstream` : `${dir}/${n.name}/jetstream`;
    const lines = [
      `port: ${n.port}`,
      `http_port: ${n.monitorPort === 0 ? -1 : n.monitorPort}`,
      `jetstream { store_dir: "${store}" }`,
    ];
    if (nodes > 1) {
      // JetStream in a cluster needs a name per server; the routes list every node (its own is skipped).
      lines.unshift(`server_name: "${n.name}"`);
      lines.push(`cluster { name: "taskmesh-local", listen: "127.0.0.1:${n.routePort}", routes: [${routes}] }`);
    }
    if (auth) lines.push('include "auth/auth.conf"');
    return { ...n, configFile: `${dir}/${n.name}.conf`, config: `${lines.join('\n')}\n` };
  });
}

/**
 * Every app the runner starts, in start order, with the variables it sets for it (on top of the runner's own
 * environment): `name` (its log tag), `app` (dist/apps/<app>/main.js), `role` (its NATS user) and `env`.
 * - `natsUrls`: every node's client URL (NATS_URL); `replicas`: MESH_REPLICAS (the node count).
 * - `httpPort`: router's health port; orchestrator +1, scheduler +2, dashboard +3, worker i +9+i (0: any free port each).
 * - `dashboardPort`: the dashboard's web UI, on loopback (default 8090; 0: any free port).
 * - `roleEnv(role)`: that role's NATS credentials ({} without auth).
 * - `env`: the runner's environment: a variable set there wins over the runner's default for it.
 */
export function appEnvironments({ workers, natsUrls, replicas, httpPort, dashboardPort = 8090, roleEnv, env }) {
  const pick = (defaults) => Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, env[k] || v]));
  const shared = { NATS_URL: natsUrls.join(','), MESH_REPLICAS: String(replicas), ...pick(SHARED_DEFAULTS) };
  const http = (offset) => ({ MESH_HTTP_PORT: String(httpPort === 0 ? 0 : httpPort + offset) });
  const app = (name, role, extra) => ({ name, app: role, role, env: { ...shared, ...extra, ...roleEnv(role) } });
  return [
    app('router', 'router', http(0)),
    app('orchestrator', 'orchestrator', { ...http(1), ...pick(ORCHESTRATOR_DEFAULTS) }),
    app('scheduler', 'scheduler', http(2)),
    ...Array.from({ length: workers }, (_, i) => app(`worker-${i + 1}`, 'worker', {
      ...http(10 + i), MESH_WORKER_ID: `worker-${i + 1}`, MESH_DEMO_TASKS: 'true', ...pick(WORKER_DEFAULTS),
    })),
    app('dashboard', 'dashboard', { ...http(3), MESH_DASHBOARD_HOST: '127.0.0.1', MESH_DASHBOARD_PORT: String(dashboardPort) }),
  ];
}
