import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { MeshClient, MeshObserver, type DispatchEventMessage, type DispatchRecord, type DispatchUpcoming } from '@taskmesh/client';
import { followForever, Recent } from '../live/follow.js';
import { LiveHub } from '../live/live-hub.js';

/** Dispatch events (running state, changes) the view shows when it opens. */
const RECENT_EVENTS = 50;
/** Next occurrences per dispatch on the timeline. */
const OCCURRENCES = 5;

/** A dispatch event as the page reads it. */
export interface DispatchActivity {
  id: string;
  event: string;
  at: string;
  occurrence?: string;
  task: string;
  active: boolean;
}

/** The dispatches view: records with their next occurrences, running-state events live, pause/resume and delete. */
@Injectable()
export class DispatchesService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Dispatches');
  private readonly stop = new AbortController();
  private readonly events = new Recent<DispatchActivity>(RECENT_EVENTS);

  constructor(
    private readonly client: MeshClient,
    private readonly observer: MeshObserver,
    private readonly hub: LiveHub,
  ) {}

  onApplicationBootstrap(): void {
    void followForever('dispatch events', (signal) => this.observer.dispatchEvents({ signal }), (e) => {
      const activity = activityOf(e);
      this.events.add(activity);
      this.hub.publish('dispatch', activity);
    }, this.stop.signal, this.log);
  }

  onApplicationShutdown(): void {
    this.stop.abort();
  }

  async view(): Promise<{ dispatches: DispatchRecord[]; upcoming: DispatchUpcoming[]; events: DispatchActivity[]; now: string }> {
    const [dispatches, upcoming] = await Promise.all([this.client.dispatches.list(), this.client.dispatches.upcoming({ limit: OCCURRENCES })]);
    return { dispatches, upcoming, events: this.events.list(), now: new Date().toISOString() };
  }

  setActive(id: string, active: boolean): Promise<DispatchRecord> {
    return this.client.dispatches.update(id, { active });
  }

  delete(id: string): Promise<void> {
    return this.client.dispatches.delete(id);
  }
}

function activityOf(e: DispatchEventMessage): DispatchActivity {
  return { id: e.dispatch.id, event: e.event, at: e.at, task: e.dispatch.task, active: e.dispatch.active, ...(e.occurrence ? { occurrence: e.occurrence } : {}) };
}
