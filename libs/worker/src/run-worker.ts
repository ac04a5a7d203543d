import { Module, type DynamicModule, type ModuleMetadata, type Provider, type Type } from '@nestjs/common';
import { NatsModule, isNatsUnreachable } from '@taskmesh/nats';
import { Role } from '@taskmesh/protocol';
import { runApp } from '@taskmesh/runtime';
import { WorkerConfig } from './worker.config.js';
import { WorkerModule } from './worker.module.js';

/** A worker process in one call (see runWorker). */
export interface RunWorkerOptions<C extends WorkerConfig = WorkerConfig> {
  /** Names the process in logs, on its NATS connection and in its metrics; default `worker`. */
  name?: string;
  /**
   * The classes whose `@Task` methods this worker serves (Nest providers: they may inject `providers`), or a function
   * of the validated config that picks them (e.g. tasks behind a flag).
   */
  tasks: Type<unknown>[] | ((config: C) => Type<unknown>[]);
  /** The environment, read and validated at boot: WorkerConfig (default) or a subclass adding the app's variables. */
  config?: new () => C;
  /** Nest modules the task classes need. */
  imports?: ModuleMetadata['imports'];
  /** Providers the task classes inject (the validated config is there already, under APP_CONFIG). */
  providers?: Provider[];
}

/** The worker's root module for a validated config: NATS, the worker, and the app's task classes. */
@Module({})
export class WorkerAppModule {
  static forRoot<C extends WorkerConfig>(config: C, options: Pick<RunWorkerOptions<C>, 'name' | 'tasks' | 'imports' | 'providers'>): DynamicModule {
    const tasks = typeof options.tasks === 'function' ? options.tasks(config) : options.tasks;
    return {
      module: WorkerAppModule,
      imports: [
        // Batched socket writes: a worker answers many small messages at once (libs/nats/src/connect.ts).
        NatsModule.forRoot({ ...NatsModule.optionsFrom(config, options.name ?? DEFAULT_WORKER_NAME, Role.Worker), batchWrites: true }),
        WorkerModule.forRoot(WorkerModule.optionsFrom(config)),
        ...(options.imports ?? []),
      ],
      providers: [...tasks, ...(options.providers ?? [])],
    };
  }
}

const DEFAULT_WORKER_NAME = 'worker';

/**
 * Boots a worker process serving `tasks` with the stock worker's environment (NATS_URL, MESH_WORKER_CONCURRENCY...:
 * docs/PROTOCOL.md section 9): connects, declares the topology, heartbeats, serves /healthz and /metrics, and on
 * SIGTERM drains running tasks for MESH_DRAIN_TIMEOUT_MS before it exits. A bad variable stops it with exit 78,
 * an unreachable NATS with exit 69.
 */
export function runWorker<C extends WorkerConfig = WorkerConfig>(options: RunWorkerOptions<C>): Promise<void> {
  return runApp<C>({
    name: options.name ?? DEFAULT_WORKER_NAME,
    config: options.config ?? (WorkerConfig as new () => C),
    module: (config) => WorkerAppModule.forRoot(config, options),
    // Running tasks get the drain timeout, plus time to release the rest and close the connections.
    shutdownTimeoutMs: (config) => config.MESH_DRAIN_TIMEOUT_MS + 10_000,
    isUnavailable: isNatsUnreachable,
  });
}
