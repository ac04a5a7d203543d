import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { MeshObserver } from '@taskmesh/client';
import { APP_CONFIG } from '@taskmesh/runtime';
import type { DashboardConfig } from '../dashboard.config.js';
import { everyPeriod, Recent } from '../live/follow.js';
import { LiveHub } from '../live/live-hub.js';
import { StatsDeltas, type StatsSample } from './stats-delta.js';
import { MAX_POINTS } from './stats-series.js';

/**
 * Reads every app's `$SRV.STATS` each period (the apps' own counters, docs/PROTOCOL.md 4.11), turns consecutive
 * snapshots into per-service rates and latencies, pushes each sample (`stats`) and keeps the last MAX_POINTS for a
 * page that opens later.
 */
@Injectable()
export class StatsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Stats');
  private readonly stop = new AbortController();
  private readonly deltas = new StatsDeltas();
  private readonly samples = new Recent<StatsSample>(MAX_POINTS);

  constructor(
    private readonly observer: MeshObserver,
    private readonly hub: LiveHub,
    @Inject(APP_CONFIG) private readonly config: DashboardConfig,
  ) {}

  onApplicationBootstrap(): void {
    void everyPeriod('reading $SRV.STATS', this.config.MESH_DASHBOARD_STATS_MS, async () => {
      const snapshot = await this.observer.serviceStats();
      const sample = this.deltas.next(snapshot, Date.now());
      if (sample === undefined) return;
      this.samples.add(sample);
      this.hub.publish('stats', sample);
    }, this.stop.signal, this.log);
  }

  onApplicationShutdown(): void {
    this.stop.abort();
  }

  history(): StatsSample[] {
    return this.samples.list();
  }
}
