import { Global, Inject, Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { inboxPrefix, type Role } from '@taskmesh/protocol';
import { connectNats, watchNatsStatus, type NatsConnectOptions, type NatsLog } from './connect.js';
import { createMeshBus, MESH_BUS, type MeshBus } from './mesh-bus.js';
import { declareMeshTopology, type Declared, type TopologyLimits } from './topology/index.js';

/** How NatsModule connects and what it declares. */
export interface NatsModuleOptions extends NatsConnectOptions {
  /** Subject prefix (MESH_PREFIX). */
  prefix: string;
  /** Topology bounds; unset ones take the DEFAULT_* values of topology/limits.ts. */
  limits?: Partial<TopologyLimits>;
  /** Declare the streams and the tasks bucket at boot (default true). */
  declareTopology?: boolean;
}

/** The environment variables NatsModule reads (a structural slice of the apps' SharedConfig). */
export interface NatsEnv {
  NATS_URL: string;
  NATS_USER?: string;
  NATS_PASSWORD?: string;
  NATS_TOKEN?: string;
  NATS_CREDS?: string;
  NATS_NKEY_SEED?: string;
  NATS_TLS_CA?: string;
  NATS_CONNECT_ATTEMPTS?: number;
  NATS_CONNECT_DELAY_MS?: number;
  MESH_PREFIX: string;
  MESH_ACK_WAIT_MS?: number;
  MESH_MAX_DELIVER?: number;
  MESH_DEDUP_WINDOW_MS?: number;
  MESH_KEY_SHARDS?: number;
  MESH_EVENTS_MAX_AGE_MS?: number;
  MESH_EVENTS_MAX_BYTES?: number;
  MESH_REPLICAS?: number;
}

/** Injection token of the options NatsModule was built with. */
export const NATS_MODULE_OPTIONS = Symbol('NATS_MODULE_OPTIONS');

/**
 * The process's NATS wiring, global: connects at boot (bounded retry, then NatsUnreachableError), declares the
 * JetStream topology once, provides the MeshBus under MESH_BUS, logs connection events, and drains the
 * connection at the very end of the shutdown (after every other module's stop hooks have used it).
 */
@Global()
@Module({})
export class NatsModule implements OnApplicationShutdown {
  private static readonly log = new Logger('Nats');

  constructor(@Inject(MESH_BUS) private readonly bus: MeshBus) {}

  /** The module for `options`. */
  static forRoot(options: NatsModuleOptions): DynamicModule {
    return {
      module: NatsModule,
      global: true,
      providers: [
        { provide: NATS_MODULE_OPTIONS, useValue: options },
        { provide: MESH_BUS, useFactory: (o: NatsModuleOptions) => NatsModule.connect(o), inject: [NATS_MODULE_OPTIONS] },
      ],
      exports: [MESH_BUS, NATS_MODULE_OPTIONS],
    };
  }

  /**
   * Options from an app's validated config; `name` labels the connection on the server (e.g. `router`), `role` picks
   * its reply inbox prefix (`inboxPrefix(role)`: with per-role users, only that role may read it).
   */
  static optionsFrom(config: NatsEnv, name: string, role: Role): NatsModuleOptions {
    return {
      servers: config.NATS_URL,
      user: config.NATS_USER,
      password: config.NATS_PASSWORD,
      token: config.NATS_TOKEN,
      credsFile: config.NATS_CREDS,
      nkeySeedFile: config.NATS_NKEY_SEED,
      tlsCaFile: config.NATS_TLS_CA,
      inboxPrefix: inboxPrefix(role),
      name,
      connectAttempts: config.NATS_CONNECT_ATTEMPTS,
      connectDelayMs: config.NATS_CONNECT_DELAY_MS,
      prefix: config.MESH_PREFIX,
      limits: {
        ackWaitMs: config.MESH_ACK_WAIT_MS, maxDeliver: config.MESH_MAX_DELIVER, duplicateWindowMs: config.MESH_DEDUP_WINDOW_MS, keyShards: config.MESH_KEY_SHARDS,
        eventsMaxAgeMs: config.MESH_EVENTS_MAX_AGE_MS, eventsMaxBytes: config.MESH_EVENTS_MAX_BYTES, replicas: config.MESH_REPLICAS,
      },
    };
  }

  // The last phase of app.close(), and Nest runs it on global modules after all the others (their distance is
  // MAX_VALUE, hooks run in reverse distance order): every other module's stop hooks can still use the bus.
  async onApplicationShutdown(): Promise<void> {
    await this.bus.drain();
  }

  private static async connect(options: NatsModuleOptions): Promise<MeshBus> {
    const log = nestLog(NatsModule.log);
    const nc = await connectNats(options, log);
    void watchNatsStatus(nc, log).catch((err: unknown) => log('NATS status watch ended', { level: 'warn', err: String(err) }));
    try {
      const bus = await createMeshBus(nc, { prefix: options.prefix, limits: options.limits });
      if (options.declareTopology !== false) {
        const report = await declareMeshTopology(bus.jsm, bus.subjects.prefix, bus.limits);
        for (const d of Object.values(report) as Declared[]) {
          const level = d.note !== undefined ? 'warn' : d.outcome === 'unchanged' ? 'debug' : 'info';
          log(`${d.kind} ${d.name} ${d.outcome}`, { level, changed: d.changed, ...(d.note === undefined ? {} : { note: d.note }) });
        }
      }
      return bus;
    } catch (err) {
      // A failed boot must not leave a live connection keeping the process up.
      await nc.close().catch(() => undefined);
      throw err;
    }
  }
}

/** Adapts NatsLog events to a Nest logger (which nestjs-pino turns into JSON lines). */
function nestLog(logger: Logger): NatsLog {
  return (msg, { level, ...fields }) => {
    const entry = { msg, ...fields };
    if (level === 'debug') logger.debug(entry);
    else if (level === 'info') logger.log(entry);
    else if (level === 'warn') logger.warn(entry);
    else logger.error(entry);
  };
}
