import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { MESH_BUS, type MeshBus } from '@taskmesh/nats';
import { APP_CONFIG, counter, gauge, histogram, METRICS } from '@taskmesh/runtime';
import type { Registry } from 'prom-client';
import type { OrchestratorConfig } from '../orchestrator.config.js';
import { Janitor } from './janitor.js';

/**
 * Runs the Janitor every MESH_SWEEP_EVERY_MS (expiry of waiting work at its deadline, retention by age, count and
 * bytes), and keeps the invocations bucket's hard bounds as configured (applyInvocationBounds; retried after each
 * sweep while the bucket holds more than a lowered bound). Safe on replicas (see Janitor).
 */
@Injectable()
export class JanitorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Janitor');
  private timer?: NodeJS.Timeout;
  private running = false;
  private boundsApplied = false;
  private readonly janitor: Janitor;
  private readonly seconds;
  private readonly stored;

  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(APP_CONFIG) private readonly config: OrchestratorConfig,
    @Inject(METRICS) metrics: Registry,
  ) {
    const swept = counter(metrics, 'taskmesh_orchestrator_swept_total', 'Records expired, purged by age, or trimmed to the bounds', ['action']);
    this.seconds = histogram(metrics, 'taskmesh_orchestrator_sweep_seconds', 'Duration of one janitor sweep', [], [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10]);
    this.stored = gauge(metrics, 'taskmesh_orchestrator_invocation_records', 'Invocation records and their bytes in the bucket, after the last sweep', ['unit']);
    this.janitor = new Janitor(bus, {
      lastingMs: config.MESH_PURGE_AFTER_MS,
      generatedMs: config.MESH_PURGE_GENERATED_AFTER_MS,
      bounds: { maxRecords: config.MESH_INVOCATIONS_MAX_RECORDS, maxBytes: config.MESH_INVOCATIONS_MAX_BYTES },
      count: (action, n) => n > 0 && swept.inc({ action }, n),
      warn: (entry) => this.log.warn(entry),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.applyBounds();
    this.timer = setInterval(() => void this.sweepOnce(), this.config.MESH_SWEEP_EVERY_MS);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.janitor.close();
  }

  private async sweepOnce(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const report = await this.janitor.sweep();
      this.seconds.observe(report.ms / 1000);
      this.stored.set({ unit: 'records' }, report.records);
      this.stored.set({ unit: 'bytes' }, report.bytes);
      this.log.debug({ msg: 'swept', ...report });
      if (!this.boundsApplied) await this.applyBounds();
    } catch (err) {
      this.log.error({ msg: 'sweep failed', err: String(err) });
    } finally {
      this.running = false;
    }
  }

  private async applyBounds(): Promise<void> {
    const bounds = { maxRecords: this.config.MESH_INVOCATIONS_MAX_RECORDS, maxBytes: this.config.MESH_INVOCATIONS_MAX_BYTES };
    try {
      const outcome = await this.bus.applyInvocationBounds(bounds);
      this.boundsApplied = outcome !== 'deferred';
      if (outcome === 'updated') this.log.log({ msg: 'invocations bucket bounds set', ...bounds });
      if (outcome === 'deferred') this.log.warn({ msg: 'invocations bucket holds more than its new bound: the janitor trims it first', ...bounds });
    } catch (err) {
      this.log.error({ msg: 'could not set the invocations bucket bounds', err: String(err) });
    }
  }
}
