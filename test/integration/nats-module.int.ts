import 'reflect-metadata';
import { Inject, Injectable, Logger, Module, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { isNatsUnreachable, MESH_BUS, NatsModule, NatsUnreachableError, TopologyConflictError, type MeshBus, type NatsModuleOptions } from '@taskmesh/nats';
import { Role } from '@taskmesh/protocol';
import { freePort, startNatsServer, waitFor, type NatsServer } from '@taskmesh/testing';

const T = 30_000;

/** Keeps what Nest logs, so tests can read the NATS module's lines (and the run stays quiet). */
class RecordingLogger implements LoggerService {
  readonly entries: { level: string; message: unknown }[] = [];
  log(message: unknown): void {
    this.entries.push({ level: 'log', message });
  }
  error(message: unknown): void {
    this.entries.push({ level: 'error', message });
  }
  warn(message: unknown): void {
    this.entries.push({ level: 'warn', message });
  }
  debug(message: unknown): void {
    this.entries.push({ level: 'debug', message });
  }
  verbose(message: unknown): void {
    this.entries.push({ level: 'verbose', message });
  }
}

/** A consumer of the bus that still publishes while the app shuts down: the drain must come after it. */
@Injectable()
class LastWords implements OnApplicationShutdown {
  constructor(@Inject(MESH_BUS) private readonly bus: MeshBus) {}
  onApplicationShutdown(): void {
    this.bus.publish('test.last-words', 'bye');
  }
}

@Module({ providers: [LastWords] })
class FeatureModule {}

describe(NatsModule.name, () => {
  let server: NatsServer;
  const logger = new RecordingLogger();
  /** The admin's login in the module's option names: these tests use subjects of their own (`test.*`) besides the mesh's. */
  const asAdmin = (on: NatsServer): { user: string; password: string } => {
    const { user, pass } = on.login(Role.Admin);
    return { user, password: pass };
  };
  const options = (overrides: Partial<NatsModuleOptions> = {}): NatsModuleOptions => ({ servers: server.url, ...asAdmin(server), name: 'test-app', prefix: 'mesh', ...overrides });
  const boot = (opts: NatsModuleOptions): Promise<TestingModule> =>
    Test.createTestingModule({ imports: [NatsModule.forRoot(opts), FeatureModule] }).setLogger(logger).compile();
  const messages = (): string[] => logger.entries.map((e) => (typeof e.message === 'object' && e.message !== null ? String((e.message as { msg?: unknown }).msg) : String(e.message)));

  beforeAll(async () => {
    Logger.overrideLogger(logger);
    server = await startNatsServer();
  }, T);

  afterAll(async () => {
    await server?.stop();
  }, T);

  it('connects, declares the topology once, and provides the MeshBus', async () => {
    const app = await boot(options());
    try {
      const bus = app.get<MeshBus>(MESH_BUS);
      expect(bus.nc.info?.version).toMatch(/^2\./);
      expect(bus.subjects.work('echo')).toBe('mesh.work.echo');
      expect(bus.names.workStream).toBe('MESH_WORK');
      expect((await bus.jsm.streams.info('MESH_WORK')).config.retention).toBe('workqueue');
      expect(messages()).toEqual(expect.arrayContaining(['connected to NATS', 'stream MESH_WORK created', 'stream MESH_EVENTS created', 'bucket MESH_TASKS created']));

      // The ports the apps use work end to end.
      bus.nc.subscribe('test.echo', {
        callback: (_err, msg) => {
          msg.respond(msg.data, { headers: msg.headers });
        },
      });
      const reply = await bus.request('test.echo', 'hi', { timeoutMs: 2_000, headers: { 'Mesh-Reply-To': 'x' } });
      expect([reply.string(), reply.headers?.get('Mesh-Reply-To')]).toEqual(['hi', 'x']);
      expect(await bus.ensureTaskConsumer('echo')).toMatchObject({ name: 'work_echo', outcome: 'created' });
      const seen = new Set<string>();
      await bus.tasks.offer('echo', 'w1');
      const stop = await bus.tasks.watch((offer) => seen.add(offer.task));
      await bus.tasks.offer('sleep', 'w2');
      await waitFor(() => seen.has('echo') && seen.has('sleep'), { timeoutMs: 5_000, what: 'the watch to see both offers' });
      stop();
      expect((await bus.tasks.keys()).sort()).toEqual(['echo', 'sleep']);
    } finally {
      await app.close();
    }
  }, T);

  it('boots again against an existing topology without changing it', async () => {
    const before = await Promise.all(['MESH_WORK', 'MESH_EVENTS', 'KV_MESH_TASKS'].map(async (s) => {
      const app = await boot(options({ declareTopology: false }));
      try {
        return (await app.get<MeshBus>(MESH_BUS).jsm.streams.info(s)).config;
      } finally {
        await app.close();
      }
    }));
    logger.entries.length = 0;
    const app = await boot(options());
    try {
      const jsm = app.get<MeshBus>(MESH_BUS).jsm;
      const after = await Promise.all(['MESH_WORK', 'MESH_EVENTS', 'KV_MESH_TASKS'].map(async (s) => (await jsm.streams.info(s)).config));
      expect(after).toEqual(before);
      expect(messages()).toEqual(expect.arrayContaining(['stream MESH_WORK unchanged', 'stream MESH_EVENTS unchanged', 'bucket MESH_TASKS unchanged']));
    } finally {
      await app.close();
    }
  }, T);

  it('drains on close, after the other modules have used the connection in their own shutdown hooks', async () => {
    const watcher = await boot(options({ name: 'watcher', declareTopology: false }));
    const app = await boot(options());
    try {
      const watcherBus = watcher.get<MeshBus>(MESH_BUS);
      const heard: string[] = [];
      watcherBus.nc.subscribe('test.last-words', {
        callback: (_err, msg) => {
          heard.push(msg.string());
        },
      });
      await watcherBus.nc.flush();
      const bus = app.get<MeshBus>(MESH_BUS);
      const closed = bus.nc.closed();

      await app.close();

      expect(await closed).toBeUndefined(); // closed without an error
      expect(bus.nc.isClosed()).toBe(true);
      await waitFor(() => heard.includes('bye'), { timeoutMs: 5_000, what: 'the last words published during shutdown' });
      await expect(bus.drain()).resolves.toBeUndefined(); // idempotent
    } finally {
      await watcher.close();
    }
  }, T);

  it('fails the boot with NatsUnreachableError (for EXIT_UNAVAILABLE) when nothing listens', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const started = performance.now();
    const booting = boot(options({ servers: url, connectAttempts: 2, connectDelayMs: 50 }));
    const err = await booting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsUnreachableError);
    expect(isNatsUnreachable(err)).toBe(true);
    expect((err as Error).message).toContain(url);
    expect(performance.now() - started).toBeLessThan(5_000);
  }, T);

  it('fails the boot with the topology conflict, and does not leave the connection open', async () => {
    const monitorPort = await freePort();
    const monitored = await startNatsServer({ config: `http: "127.0.0.1:${monitorPort}"` });
    const connectionNames = async (): Promise<string[]> => {
      const connz = (await (await fetch(`http://127.0.0.1:${monitorPort}/connz`)).json()) as { connections?: { name?: string }[] };
      return (connz.connections ?? []).map((c) => c.name ?? '');
    };
    try {
      const app = await boot({ servers: monitored.url, ...asAdmin(monitored), name: 'setup', prefix: 'clash', declareTopology: false });
      expect(await connectionNames()).toContain('setup'); // the probe sees app connections
      await app.get<MeshBus>(MESH_BUS).jsm.streams.add({ name: 'CLASH_WORK', subjects: ['clash.work.>'], retention: 'limits' });
      await app.close();

      await expect(boot({ servers: monitored.url, ...asAdmin(monitored), name: 'doomed', prefix: 'clash' })).rejects.toThrow(TopologyConflictError);

      await waitFor(async () => !(await connectionNames()).includes('doomed'), { timeoutMs: 5_000, what: 'the failed boot to close its connection' });
    } finally {
      await monitored.stop();
    }
  }, T);

  it('maps an app config onto module options (optionsFrom)', () => {
    expect(
      NatsModule.optionsFrom({ NATS_URL: 'nats://h:4222', NATS_USER: 'u', NATS_PASSWORD: 'p', NATS_CONNECT_ATTEMPTS: 3, NATS_CONNECT_DELAY_MS: 10, MESH_PREFIX: 'm', MESH_ACK_WAIT_MS: 9_000 }, 'worker', Role.Worker),
    ).toEqual({
      servers: 'nats://h:4222',
      user: 'u',
      password: 'p',
      credsFile: undefined,
      inboxPrefix: '_INBOX_worker',
      name: 'worker',
      connectAttempts: 3,
      connectDelayMs: 10,
      prefix: 'm',
      limits: { ackWaitMs: 9_000, maxDeliver: undefined },
    });
  });
});

