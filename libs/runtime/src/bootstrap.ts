import 'reflect-metadata';
import type { DynamicModule, INestApplication, INestApplicationContext } from '@nestjs/common';
import type { CustomTransportStrategy } from '@nestjs/microservices';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { ConfigError } from './config/config.error.js';
import { loadConfig } from './config/load-config.js';
import type { SharedConfig } from './config/shared.config.js';
import { HealthRegistry } from './ops/health.js';
import { createMetricsRegistry } from './ops/metrics.js';
import { startOpsServer, type OpsServer } from './ops/ops-server.js';
import { RuntimeModule } from './runtime.module.js';

/** Exit status for a bad configuration (sysexits EX_CONFIG), so supervisors can tell it from a crash. */
export const EXIT_CONFIG = 78;
/** Exit status when a dependency (NATS) could not be reached at boot. */
export const EXIT_UNAVAILABLE = 69;

/** What an app's main.ts hands to runApp. */
export interface AppSpec<C extends SharedConfig> {
  name: string;
  config: new () => C;
  /** The app's root module, built from its validated config. */
  module: (config: C) => DynamicModule;
  /** How long a graceful stop may take before the process is forced out. */
  shutdownTimeoutMs?: (config: C) => number;
  /**
   * The transport serving the app's @MessagePattern handlers, if it has any. `attachTo` runs once the providers
   * exist (so the transport can take the app's NATS connection) and before it listens.
   */
  transport?: (config: C) => CustomTransportStrategy & { attachTo?(app: INestApplicationContext): void };
  /** Recognises boot errors that mean "a dependency is unreachable" (exit EXIT_UNAVAILABLE, one clear line). */
  isUnavailable?: (err: unknown) => boolean;
  /**
   * An HTTP server for the app's controllers (the dashboard): Nest's HTTP platform listens on `host`:`port` (0: a
   * free port, logged as `url`); `setup` runs before it listens (static assets, prefixes). Not with `transport`.
   */
  http?: (config: C) => { host: string; port: number; setup?: (app: INestApplication) => void };
}

/**
 * Boots one taskmesh process: validates the environment (an invalid variable stops the process with a message
 * naming it), builds the Nest application context, serves /healthz and /metrics, and stops cleanly on
 * SIGTERM/SIGINT (Nest shutdown hooks drain NATS; a second signal or the deadline forces the exit).
 */
export async function runApp<C extends SharedConfig>(spec: AppSpec<C>): Promise<void> {
  let config: C;
  try {
    config = loadConfig(spec.config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${spec.name}: ${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }

  const health = new HealthRegistry();
  const metrics = createMetricsRegistry(spec.name);
  let app: INestApplicationContext;
  let url: string | undefined;
  try {
    const root = { module: class AppRoot {}, imports: [RuntimeModule.forRoot({ app: spec.name, config, metrics, health }), spec.module(config)] };
    const options = { bufferLogs: true, abortOnError: false };
    const transport = spec.transport?.(config);
    const http = spec.http?.(config);
    if (http) {
      const web = await NestFactory.create(root, options);
      web.useLogger(web.get(Logger));
      http.setup?.(web);
      await web.listen(http.port, http.host);
      const address = web.getHttpServer().address() as { port: number };
      url = `http://${http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host}:${address.port}`;
      app = web;
    } else if (transport) {
      const micro = await NestFactory.createMicroservice(root, { ...options, strategy: transport });
      micro.useLogger(micro.get(Logger));
      transport.attachTo?.(micro);
      await micro.listen();
      app = micro;
    } else {
      app = await NestFactory.createApplicationContext(root, options);
    }
  } catch (err) {
    const unavailable = spec.isUnavailable?.(err) ?? false;
    process.stderr.write(`${spec.name}: ${unavailable ? '' : 'failed to start: '}${(err as Error)?.message ?? String(err)}\n`);
    process.exit(unavailable ? EXIT_UNAVAILABLE : 1);
  }
  const logger = app.get(Logger);
  app.useLogger(logger);
  app.flushLogs();

  let ops: OpsServer | undefined;
  try {
    ops = await startOpsServer({ host: config.MESH_HTTP_HOST, port: config.MESH_HTTP_PORT, health, metrics });
  } catch (err) {
    logger.error(`cannot serve health/metrics on ${config.MESH_HTTP_HOST}:${config.MESH_HTTP_PORT}: ${(err as Error).message}`, 'Runtime');
    await app.close();
    process.exit(1);
  }
  logger.log({ msg: `${spec.name} started`, httpPort: ops.port, nats: config.NATS_URL, prefix: config.MESH_PREFIX, ...(url === undefined ? {} : { url }) }, 'Runtime');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      logger.warn(`second ${signal}: exiting now`, 'Runtime');
      process.exit(1);
    }
    stopping = true;
    logger.log(`${signal} received: stopping`, 'Runtime');
    const deadline = setTimeout(() => {
      logger.error('graceful stop took too long: exiting', 'Runtime');
      process.exit(1);
    }, spec.shutdownTimeoutMs?.(config) ?? 30_000);
    deadline.unref();
    try {
      await app.close();
      await ops?.close();
      logger.log(`${spec.name} stopped`, 'Runtime');
      process.exit(0);
    } catch (err) {
      logger.error(`error while stopping: ${(err as Error).message}`, 'Runtime');
      process.exit(1);
    }
  };
  // The first signal starts a graceful stop; a second one (of either kind) forces the exit.
  const onSignal = (signal: NodeJS.Signals): void => void stop(signal);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
