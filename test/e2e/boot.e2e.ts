import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Role } from '@taskmesh/protocol';
import { permissionViolations, ProcessGroup, spawnApp, startNatsServer, type AppProcess, type NatsServer } from '@taskmesh/testing';

const APPS = ['router', 'orchestrator', 'scheduler', 'worker'] as const;
const EXIT_CONFIG = 78;
const EXIT_UNAVAILABLE = 69;

describe('app boot (every app as a real process)', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  const group = new ProcessGroup();
  /** Every app started on `server`: none may hit a permission violation, booting as its own role. */
  const apps: AppProcess[] = [];
  const spawn = (app: (typeof APPS)[number], env: Record<string, string>): AppProcess => {
    const proc = group.add(spawnApp(app, { ...server.appEnv(app), ...env }));
    apps.push(proc);
    return proc;
  };

  beforeAll(async () => {
    server = await startNatsServer();
    // The admin: it reads the whole topology.
    nc = await connect({ servers: server.url, ...server.login(Role.Admin) });
  });
  afterEach(async () => group.stopAll());
  afterAll(async () => {
    await nc?.close();
    const violations = server ? permissionViolations({ logFiles: [server.logFile], apps }) : [];
    await server?.stop();
    expect(violations).toEqual([]);
  });

  const start = async (app: (typeof APPS)[number], env: Record<string, string> = {}): Promise<AppProcess> => {
    const proc = spawn(app, { MESH_HTTP_PORT: '0', MESH_WORKER_ID: `w-${app}`, ...env });
    await proc.waitForLine(new RegExp(`"${app} started"`), 20_000);
    return proc;
  };

  const topology = async (): Promise<unknown> => {
    const jsm = await jetstreamManager(nc);
    const streams = [];
    for await (const s of jsm.streams.list()) {
      const consumers = [];
      // Durable consumers only: ephemeral ones (KV watchers) belong to the processes that made them, not the topology.
      for await (const c of jsm.consumers.list(s.config.name)) if (c.config.durable_name) consumers.push({ name: c.name, config: c.config });
      streams.push({ config: s.config, consumers: consumers.sort((a, b) => a.name.localeCompare(b.name)) });
    }
    return streams.sort((a, b) => a.config.name.localeCompare(b.config.name));
  };

  it.each(APPS)('%s starts, serves /healthz, and stops cleanly on SIGTERM', async (app) => {
    const proc = await start(app);
    const line = proc.lines().find((l) => l.includes(`"${app} started"`))!;
    const port = JSON.parse(line).httpPort as number;
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('taskmesh_process_cpu_seconds_total');
    proc.kill('SIGTERM');
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.lines().some((l) => l.includes(`"${app} stopped"`))).toBe(true);
  }, 30_000);

  it('the stock worker serves the demo tasks only with MESH_DEMO_TASKS=true (off by default)', async () => {
    const plain = await start('worker', { MESH_DEMO_TASKS: 'false', MESH_WORKER_ID: 'w-plain' });
    expect(plain.lines().some((l) => l.includes('no @Task methods found'))).toBe(true);
    expect(plain.lines().find((l) => l.includes('"worker ready"'))).toMatch(/"tasks":\[\]/);
    const demo = await start('worker', { MESH_DEMO_TASKS: 'true', MESH_WORKER_ID: 'w-demo' });
    expect(demo.lines().find((l) => l.includes('"worker ready"'))).toMatch(/"tasks":\[[^\]]*"echo"/);
    const bad = spawn('worker', { MESH_DEMO_TASKS: 'yes' });
    expect((await bad.exited).code).toBe(EXIT_CONFIG);
    expect(bad.lines().join('\n')).toMatch(/MESH_DEMO_TASKS/);
  }, 60_000);

  it('declares the same topology however often every app starts', async () => {
    for (const app of APPS) {
      const proc = await start(app);
      await proc.stop(10_000);
    }
    const first = await topology();
    expect(JSON.stringify(first)).toContain('MESH_WORK');
    for (const app of APPS) {
      const [a, b] = await Promise.all([start(app), start(app, { MESH_WORKER_ID: `w-${app}-2` })]);
      await Promise.all([a.stop(10_000), b.stop(10_000)]);
    }
    expect(await topology()).toEqual(first);
  }, 120_000);

  it.each(APPS)('%s exits with a clear message when NATS is unreachable', async (app) => {
    const dead = 'nats://127.0.0.1:1';
    const t0 = Date.now();
    const proc = spawn(app, { NATS_URL: dead, NATS_CONNECT_ATTEMPTS: '3', NATS_CONNECT_DELAY_MS: '100', MESH_HTTP_PORT: '0' });
    const exit = await proc.exited;
    expect(exit.code).toBe(EXIT_UNAVAILABLE);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(proc.lines().join('\n')).toMatch(new RegExp(`${app}: .*nats://127\\.0\\.0\\.1:1.*3 attempts`));
  }, 20_000);

  it.each([
    ['router', 'MESH_NOTIFY_PERIOD_MS', 'soon'],
    ['worker', 'MESH_WORKER_CONCURRENCY', '0'],
    ['orchestrator', 'NATS_URL', 'localhost'],
    ['scheduler', 'LOG_LEVEL', 'chatty'],
  ] as const)('%s refuses to start when %s=%s, naming the variable', async (app, name, value) => {
    const proc = spawn(app, { [name]: value });
    const exit = await proc.exited;
    expect(exit.code).toBe(EXIT_CONFIG);
    expect(proc.lines().join('\n')).toContain(`${app}: invalid configuration: ${name}`);
  }, 20_000);
});
