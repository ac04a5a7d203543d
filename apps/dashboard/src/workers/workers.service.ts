import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { MeshClient, MeshObserver, type WorkerEventMessage, type WorkerInfo } from '@taskmesh/client';
import { APP_CONFIG } from '@taskmesh/runtime';
import type { DashboardConfig } from '../dashboard.config.js';
import { everyPeriod, followForever, Recent } from '../live/follow.js';
import { LiveHub } from '../live/live-hub.js';

/** Worker events the view shows when it opens. */
const RECENT_EVENTS = 50;

/** The live workers, read from a router every period and pushed (`workers`), and their joined/expired events (`worker`). */
@Injectable()
export class WorkersService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Workers');
  private readonly stop = new AbortController();
  private readonly events = new Recent<WorkerEventMessage>(RECENT_EVENTS);

  constructor(
    private readonly client: MeshClient,
    private readonly observer: MeshObserver,
    private readonly hub: LiveHub,
    @Inject(APP_CONFIG) private readonly config: DashboardConfig,
  ) {}

  onApplicationBootstrap(): void {
    void followForever('worker events', (signal) => this.observer.workerEvents({ signal }), (e) => {
      this.events.add(e);
      this.hub.publish('worker', e);
    }, this.stop.signal, this.log);
    void everyPeriod('reading the workers', this.config.MESH_DASHBOARD_WORKERS_MS, async () => this.hub.publish('workers', await this.client.workers()), this.stop.signal, this.log);
  }

  onApplicationShutdown(): void {
    this.stop.abort();
  }

  async view(): Promise<{ workers: WorkerInfo[]; events: WorkerEventMessage[] }> {
    return { workers: await this.client.workers(), events: this.events.list() };
  }
}
