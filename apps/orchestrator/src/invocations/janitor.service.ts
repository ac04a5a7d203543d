import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { invocationProgress } from '#protocol';
import { MESH_BUS, type MeshBus } from '#nats';
import { APP_CONFIG, counter, METRICS } from '#runtime';
import type { Registry } from 'prom-client';
import type { OrchestratorConfig } from '../orchestrator.config.js';
import { sweep } from './sweep.js';

/**
 * Every MESH_SWEEP_EVERY_MS: fails waiting work that no worker started before its deadline (TIMEOUT, and cancels
 * it so no worker ever starts it; work that started, per its record or the events stream, is left to finish), and deletes final records older than MESH_PURGE_AFTER_MS. Safe on replicas:
 * expiry is a revision-checked write, and a purge deletes the record at the revision it scanned.
 */
@Injectable()
export class JanitorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Janitor');
  private timer?: NodeJS.Timeout;
  private running = false;
  private readonly swept;

  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(APP_CONFIG) private readonly config: OrchestratorConfig,
    @Inject(METRICS) metrics: Registry,
  ) {
    this.swept = counter(metrics, 'taskmesh_orchestrator_swept_total', 'Records expired or purged', ['action']);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweepOnce(), this.config.MESH_SWEEP_EVERY_MS);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async sweepOnce(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const now = Date.now();
      await this.bus.invocations.scan(async ({ record, revision }) => {
        const action = sweep(record, now, this.config.MESH_PURGE_AFTER_MS);
        if (action.kind === 'expire') {
          // A start its record does not show yet (the recorder is behind, or was down) is in the events stream.
          if (invocationProgress(record, await this.bus.events.last(record.id)).kind !== 'waiting') return;
          await this.bus.cancellations.cancel(record.id);
          const stored = await this.bus.invocations.get(record.id);
          // Lost a race (it started, or another replica expired it): the next sweep looks again.
          if (stored && stored.record.state === record.state && stored.record.attempts === 0 && (await this.bus.invocations.update(action.record, stored.revision))) {
            this.swept.inc({ action: 'expired' });
            this.log.warn({ msg: 'expired: no worker started it before its deadline', invocationId: record.id, task: record.task });
          }
        } else if (action.kind === 'purge') {
          // At the revision scanned: a record written since (a late event counted as rejected, or the same id
          // accepted again after another replica purged it) is judged again by the next sweep, and so is its claim.
          if (!(await this.bus.invocations.delete(record.id, revision))) return;
          if (record.registration !== undefined) await this.bus.claims.release(record.registration, record.id);
          this.swept.inc({ action: 'purged' });
        }
      });
    } catch (err) {
      this.log.error({ msg: 'sweep failed', err: String(err) });
    } finally {
      this.running = false;
    }
  }
}
