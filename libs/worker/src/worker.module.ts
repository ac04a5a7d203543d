import { inboxPrefix, Role } from '@taskmesh/protocol';
import { Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TaskDiscovery } from './tasks/task-discovery.js';
import { TaskRegistry } from './tasks/task-registry.js';
import { ackWaitOf, type WorkerConfig } from './worker.config.js';
import { WORKER_OPTIONS, WorkerService, type WorkerOptions } from './worker.service.js';

/**
 * Makes a Nest app a taskmesh worker: finds the app's `@Task` methods, pulls their work from JetStream, runs
 * them, heartbeats, and drains on shutdown. Import it next to NatsModule and provide your task classes.
 */
@Module({})
export class WorkerModule {
  static forRoot(options: WorkerOptions): DynamicModule {
    return {
      module: WorkerModule,
      imports: [DiscoveryModule],
      providers: [{ provide: WORKER_OPTIONS, useValue: options }, TaskRegistry, TaskDiscovery, WorkerService],
      exports: [TaskRegistry],
    };
  }

  /** Options from the worker's validated environment. */
  static optionsFrom(config: WorkerConfig): WorkerOptions {
    return {
      workerId: config.MESH_WORKER_ID,
      concurrency: config.MESH_WORKER_CONCURRENCY,
      notifyPeriodMs: config.MESH_NOTIFY_PERIOD_MS,
      expiresAfterMs: config.MESH_EXPIRES_AFTER_MS,
      ackWaitMs: ackWaitOf(config),
      drainTimeoutMs: config.MESH_DRAIN_TIMEOUT_MS,
      maxDeliver: config.MESH_MAX_DELIVER,
      directQueue: config.MESH_DIRECT_QUEUE,
      heartbeat: {
        servers: config.NATS_URL,
        auth: {
          user: config.NATS_USER, password: config.NATS_PASSWORD, token: config.NATS_TOKEN, credsFile: config.NATS_CREDS,
          nkeySeedFile: config.NATS_NKEY_SEED, tlsCaFile: config.NATS_TLS_CA, inboxPrefix: inboxPrefix(Role.Worker),
        },
      },
    };
  }
}
