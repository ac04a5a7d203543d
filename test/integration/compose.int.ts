// docker-compose.yml, alone and with the 3-node docker-compose.cluster.yml, as `docker-compose config` resolves them
// (Debian's docker-compose 1.29 parses without a Docker engine): every app's environment names only variables its
// config class reads and passes that class's validation (what the app runs at boot), the nats-server configs parse,
// and the local runner (scripts/cluster.mjs, planned by scripts/cluster-plan.mjs) sets the same variables per app.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMeshAuth, writeMeshAuth } from '@taskmesh/cli';
import { ConfigError, loadConfig, type SharedConfig } from '@taskmesh/runtime';
import { repoRoot } from '@taskmesh/testing';
import { OrchestratorConfig } from '../../apps/orchestrator/src/orchestrator.config.js';
import { RouterConfig } from '../../apps/router/src/router.config.js';
import { SchedulerConfig } from '../../apps/scheduler/src/scheduler.config.js';
import { StockWorkerConfig } from '../../apps/worker/src/stock-worker.config.js';
import { DashboardConfig } from '../../apps/dashboard/src/dashboard.config.js';
import { appEnvironments, NATS_NODE_COUNTS, natsNodes } from '../../scripts/cluster-plan.mjs';

/**
 * Per app (a compose service that runs an app is named after it, as is its entry in the runner's plan): the config
 * class it validates its environment with at boot, and the role whose NATS user it connects as.
 */
const APPS: Record<string, { config: new () => SharedConfig; role: string }> = {
  router: { config: RouterConfig, role: 'router' },
  orchestrator: { config: OrchestratorConfig, role: 'orchestrator' },
  scheduler: { config: SchedulerConfig, role: 'scheduler' },
  worker: { config: StockWorkerConfig, role: 'worker' },
  dashboard: { config: DashboardConfig, role: 'dashboard' },
};
/**
 * Variables compose and the runner set to different values on purpose: where NATS and the health port are, the demo
 * tasks (on locally, off in production), and the dashboard's address (all interfaces inside its container, whose port
 * compose publishes on loopback; loopback itself locally).
 */
const RUNNER_DIFFERS_ON = ['NATS_URL', 'MESH_HTTP_PORT', 'MESH_DEMO_TASKS', 'MESH_DASHBOARD_HOST'];
/** Variables only the runner sets: each local worker gets a readable id (compose replicas generate theirs). */
const RUNNER_ONLY: Record<string, string[]> = { worker: ['MESH_WORKER_ID'] };

interface Service {
  image?: string;
  environment?: Record<string, string | null>;
  volumes?: string[];
  ports?: string[];
}
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

const SINGLE = ['docker-compose.yml'];
const CLUSTER = ['docker-compose.yml', 'docker-compose.cluster.yml'];

let dir: string;

/** `docker-compose config` of `files` in the temp copy, as JSON (its YAML read by PyYAML, which docker-compose itself runs on). */
function composeConfig(files: string[], cwd = dir): Compose {
  const env = { ...process.env };
  for (const name of ['COMPOSE_FILE', 'COMPOSE_PROFILES', 'COMPOSE_PROJECT_NAME', 'NATS_BIND']) delete env[name];
  const yaml = execFileSync('docker-compose', [...files.flatMap((f) => ['-f', f]), 'config'], { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const json = execFileSync('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: yaml, encoding: 'utf8' });
  return JSON.parse(json) as Compose;
}

const isNats = (service: Service): boolean => (service.image ?? '').startsWith('nats:');
const apps = (compose: Compose): [string, Service][] => Object.entries(compose.services).filter(([, s]) => !isNats(s));
const envOf = (service: Service): Record<string, string> =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, v ?? '']));

/** What is wrong with a service's environment for its app: unknown variables (typos), and what the app's config validation refuses. */
function problemsOf(name: string, service: Service): string[] {
  const config = APPS[name]?.config;
  if (config === undefined) return [`no config class known for service ${name}: add it to APPS`];
  const env = envOf(service);
  const known = new Set(Object.keys(new config()));
  const problems = Object.keys(env).filter((k) => !known.has(k)).map((k) => `${k} is not a variable ${config.name} reads`);
  try {
    loadConfig(config, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  return problems;
}

/** Every app service's problems, keyed by service (empty: none). */
function problemsByService(compose: Compose): Record<string, string[]> {
  return Object.fromEntries(apps(compose).map(([name, s]) => [name, problemsOf(name, s)]).filter(([, p]) => p.length > 0));
}

/** What the runner sets for each app, with the compose secrets as its credentials, and where they differ from compose. */
function runnerDifferences(compose: Compose, natsNodes: number): Record<string, unknown> {
  const roleEnv = (role: string): Record<string, string> => envFile(join(dir, 'deploy', 'secrets', `${role}.env`));
  const natsUrls = Array.from({ length: natsNodes }, (_, i) => `nats://127.0.0.1:${4222 + i}`);
  const planned = appEnvironments({ workers: 2, natsUrls, replicas: natsNodes, httpPort: 8081, roleEnv, env: {} });
  const differences: Record<string, unknown> = {};
  const services = apps(compose).map(([name]) => name);
  const runnerApps = [...new Set(planned.map((p) => p.app))];
  if (runnerApps.sort().join() !== [...services].sort().join()) differences.apps = { compose: services.sort(), runner: runnerApps };
  for (const [name, service] of apps(compose)) {
    const composed = envOf(service);
    for (const app of planned.filter((p) => p.app === name)) {
      const expected = Object.keys(composed).concat(RUNNER_ONLY[name] ?? []).sort();
      if (Object.keys(app.env).sort().join() !== expected.join()) differences[`${app.name} names`] = { compose: expected, runner: Object.keys(app.env).sort() };
      const values = Object.keys(composed).filter((k) => !RUNNER_DIFFERS_ON.includes(k) && app.env[k] !== composed[k]);
      if (values.length > 0) differences[`${app.name} values`] = Object.fromEntries(values.map((k) => [k, { compose: composed[k], runner: app.env[k] }]));
      const urls = (v: string | undefined): number => (v ?? '').split(',').length;
      if (urls(app.env.NATS_URL) !== urls(composed.NATS_URL)) differences[`${app.name} NATS_URL`] = { compose: composed.NATS_URL, runner: app.env.NATS_URL };
    }
  }
  return differences;
}

function envFile(path: string): Record<string, string> {
  return Object.fromEntries(readFileSync(path, 'utf8').trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
}

/** The host file a service mounts at `target`. */
function mounted(service: Service, target: string): string | undefined {
  return (service.volumes ?? []).map((v) => v.split(':')).find(([, t]) => t === target)?.[0];
}

describe('docker-compose.yml', () => {
  beforeAll(() => {
    if (spawnSync('docker-compose', ['version']).error) {
      throw new Error('docker-compose is not on PATH: this test parses docker-compose.yml with it. Install it: `sudo apt-get install -y docker-compose` '
        + '(Debian\'s 1.29 needs no Docker engine for `docker-compose config`; .ci/run installs it)');
    }
    // A copy of the compose files and deploy/ with its own secrets (deploy/secrets/ is gitignored, never written here).
    dir = mkdtempSync(join(tmpdir(), 'taskmesh-compose-'));
    for (const file of CLUSTER) cpSync(join(repoRoot(), file), join(dir, file));
    cpSync(join(repoRoot(), 'deploy'), join(dir, 'deploy'), { recursive: true, filter: (src) => !src.includes(`${join('deploy', 'secrets')}`) });
    writeMeshAuth(join(dir, 'deploy', 'secrets'), generateMeshAuth('mesh', { cost: 4 }));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe.each([['one nats-server', SINGLE, 1], ['3-node cluster (docker-compose.cluster.yml)', CLUSTER, 3]] as const)('%s', (_label, files, nodes) => {
    let compose: Compose;
    beforeAll(() => {
      compose = composeConfig([...files]);
    });

    it('runs the apps, each as its role\'s NATS user, and the nats-server nodes', () => {
      expect(apps(compose).map(([name]) => name).sort()).toEqual(Object.keys(APPS).sort());
      expect(Object.values(compose.services).filter(isNats)).toHaveLength(nodes);
      for (const [name, service] of apps(compose)) expect([name, envOf(service).NATS_USER]).toEqual([name, APPS[name].role]);
    });

    it('every app\'s environment passes its config validation and names only variables it reads', () => {
      expect(problemsByService(compose)).toEqual({});
    });

    it(`every app lists every node in NATS_URL and keeps ${nodes} cop${nodes === 1 ? 'y' : 'ies'} of each stream and bucket`, () => {
      const nodeUrls = Object.entries(compose.services).filter(([, s]) => isNats(s)).map(([name]) => `nats://${name}:4222`).sort();
      for (const [name, service] of apps(compose)) {
        const env = envOf(service);
        expect([name, env.NATS_URL.split(',').sort(), env.MESH_REPLICAS]).toEqual([name, nodeUrls, String(nodes)]);
      }
    });

    it('the local runner sets the same variables for each app, to the same values but where they differ by design', () => {
      expect(runnerDifferences(compose, nodes)).toEqual({});
    });

    it('each nats-server config parses (nats-server -t), requires the generated users, stores on its own volume, and is published on localhost only', () => {
      const stores = new Set<string>();
      for (const [name, service] of Object.entries(compose.services).filter(([, s]) => isNats(s))) {
        const config = mounted(service, '/etc/nats/nats.conf');
        expect([name, config]).toEqual([name, expect.stringMatching(/deploy\/nats(-cluster)?\.conf$/)]);
        const checked = spawnSync('nats-server', ['-t', '-c', config!], { env: { ...process.env, ...envOf(service) }, encoding: 'utf8' });
        expect([name, checked.status, checked.stderr]).toEqual([name, 0, expect.stringContaining('is valid')]);
        expect(readFileSync(config!, 'utf8')).toMatch(/^include "secrets\/auth\.conf"$/m);
        expect(mounted(service, '/etc/nats/secrets/auth.conf')).toBe(join(dir, 'deploy', 'secrets', 'auth.conf'));
        stores.add(mounted(service, '/data') ?? '');
        for (const port of service.ports ?? []) expect([name, port]).toEqual([name, expect.stringMatching(/^127\.0\.0\.1:/)]);
      }
      expect([...stores].filter((s) => s !== '')).toHaveLength(nodes);
      if (nodes > 1) {
        const names = Object.values(compose.services).filter(isNats).map((s) => envOf(s).NATS_SERVER_NAME);
        expect(new Set(names).size).toBe(nodes);
      }
    });
  });

  it('the checks fail on a misspelt variable, a bad value, and a runner that sets other variables', () => {
    const broken = mkdtempSync(join(dir, 'broken-'));
    cpSync(join(dir, 'deploy'), join(broken, 'deploy'), { recursive: true });
    const text = readFileSync(join(dir, 'docker-compose.yml'), 'utf8');
    writeFileSync(join(broken, 'docker-compose.yml'), text
      .replace('MESH_NOTIFY_PERIOD_MS: "5000"', 'MESH_NOTIFY_PERIOD: "5000"')
      .replace('MESH_WORKER_CONCURRENCY: "64"', 'MESH_WORKER_CONCURRENCY: "lots"'));
    const compose = composeConfig(SINGLE, broken);
    const problems = problemsByService(compose);
    expect(Object.keys(problems).sort()).toEqual(['dashboard', 'orchestrator', 'router', 'scheduler', 'worker']);
    expect(problems.router).toEqual(['MESH_NOTIFY_PERIOD is not a variable RouterConfig reads']);
    expect(problems.worker).toEqual(expect.arrayContaining([expect.stringContaining('MESH_WORKER_CONCURRENCY'), expect.stringContaining('"lots"')]));
    expect(runnerDifferences(compose, 1)).toMatchObject({ 'router names': expect.anything(), 'worker-1 values': { MESH_WORKER_CONCURRENCY: { compose: 'lots', runner: '64' } } });
  });
});

describe('the local runner\'s nats-server configs (scripts/cluster-plan.mjs)', () => {
  let runDir: string;
  beforeAll(() => {
    runDir = mkdtempSync(join(tmpdir(), 'taskmesh-runner-conf-'));
    writeMeshAuth(join(runDir, 'auth'), generateMeshAuth('mesh', { cost: 4 }));
  });
  afterAll(() => rmSync(runDir, { recursive: true, force: true }));

  it.each(NATS_NODE_COUNTS.map((n) => [n]))('%i node(s): each config parses (nats-server -t), names its server and routes to every node', (nodes) => {
    const planned = natsNodes({ nodes, port: 4222, monitorPort: 8222, clusterPort: 6222, dir: runDir, auth: true });
    expect(planned.map((n) => n.port)).toEqual(Array.from({ length: nodes }, (_, i) => 4222 + i));
    for (const node of planned) {
      writeFileSync(node.configFile, node.config);
      const checked = spawnSync('nats-server', ['-t', '-c', node.configFile], { encoding: 'utf8' });
      expect([node.name, checked.status, checked.stderr]).toEqual([node.name, 0, expect.stringContaining('is valid')]);
      expect(node.config).toContain('include "auth/auth.conf"');
      if (nodes > 1) {
        expect(node.config).toContain(`server_name: "${node.name}"`);
        for (const other of planned) expect(node.config).toContain(`nats-route://127.0.0.1:${other.routePort}`);
      }
    }
  });
});
