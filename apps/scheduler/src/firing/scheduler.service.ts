import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import {
  DispatchEvent, DispatchEventMessage, dispatchInvocationId, encodeMessage, FailureCode, ResponseMessage, type DispatchMessage,
} from '#protocol';
import { MESH_BUS, type DispatchChange, type MeshBus } from '#nats';
import { APP_CONFIG, counter, gauge, METRICS } from '#runtime';
import type { Registry } from 'prom-client';
import { LeaderLease } from '../leadership/leader-lease.js';
import type { SchedulerConfig } from '../scheduler.config.js';
import { Timeline } from '../timeline/timeline.js';
import type { TimelineAction, TimelineStimulus } from '../timeline/timeline.stimuli.js';

/** How long one submit may take before it is tried again. */
const SUBMIT_TIMEOUT_MS = 5_000;
/** Tries of one submit (a router restarting, a full queue) before the occurrence is given up and counted. */
const SUBMIT_ATTEMPTS = 5;
const SUBMIT_RETRY_MS = 1_000;
/** Submit failures that another attempt may overcome (a busy or restarting mesh, a task whose workers are not up yet). */
const RETRY: ReadonlySet<string> = new Set([FailureCode.OVERLOADED, FailureCode.INTERNAL, FailureCode.TIMEOUT, FailureCode.UNKNOWN_TASK]);
/** Submit failures that mean the request itself is refused. */
const REFUSED: ReadonlySet<string> = new Set([FailureCode.BAD_REQUEST, FailureCode.VALIDATION_FAILED]);
/** The timer never sleeps longer than this, so a wall-clock jump is noticed within it. */
const MAX_TIMER_MS = 30_000;
/** Pause before re-reading the store after its watch ended (a lost connection). */
const RESYNC_DELAY_MS = 1_000;

/**
 * The scheduler's shell around the pure Timeline. Every replica keeps a LeaderLease; the leader alone runs the
 * timeline: it watches the dispatches bucket (changes first, then the full list: the seed's fetch-then-stream, so
 * nothing falls in between), keeps one timer on the timeline's next due time, and performs its actions in order.
 * Firing an occurrence = `mesh.submit.<task>` with invocation id `dispatch:<id>:<occurrence ms>` (the router
 * records ids create-once, so a repeat by a new leader is a no-op), then the `started` event, then the fired mark.
 */
@Injectable()
export class SchedulerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Scheduler');
  private readonly me: string;
  private readonly lease: LeaderLease;
  private timeline?: Timeline;
  private term = 0;
  private stopWatch?: () => void;
  private timer?: NodeJS.Timeout;
  /** Stimuli and actions are handled one batch at a time, in order. */
  private queue: Promise<void> = Promise.resolve();
  private readonly fired;
  private readonly skipped;
  private readonly failed;
  private readonly leading;

  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(APP_CONFIG) private readonly config: SchedulerConfig,
    @Inject(METRICS) metrics: Registry,
  ) {
    this.me = config.MESH_SCHEDULER_ID ?? `scheduler-${randomUUID().slice(0, 8)}`;
    this.lease = new LeaderLease(bus.scheduler, this.me, config.MESH_SCHEDULER_LEASE_MS, {
      onGained: () => this.gained(),
      onLost: () => this.lost(),
      onError: (err) => this.log.warn({ msg: 'leader lease step failed', err: String(err) }),
    });
    this.fired = counter(metrics, 'taskmesh_scheduler_fired_total', 'Occurrences submitted', ['late']);
    this.skipped = counter(metrics, 'taskmesh_scheduler_skipped_total', 'Missed occurrences not fired (misfire policy, catch-up window)');
    this.failed = counter(metrics, 'taskmesh_scheduler_fire_failed_total', 'Occurrences whose submit failed every attempt', ['code']);
    this.leading = gauge(metrics, 'taskmesh_scheduler_leader', '1 while this replica leads');
  }

  onApplicationBootstrap(): void {
    this.log.log({ msg: 'scheduler replica', id: this.me, leaseMs: this.config.MESH_SCHEDULER_LEASE_MS });
    this.lease.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.lease.stop();
    await this.queue;
  }

  private gained(): void {
    const term = ++this.term;
    this.leading.set(1);
    this.log.log({ msg: 'leading: syncing dispatches', id: this.me, term });
    this.timeline = new Timeline({ catchUpMs: this.config.MESH_SCHEDULER_CATCHUP_MS, maxDispatches: this.config.MESH_SCHEDULER_MAX_DISPATCHES });
    void this.startWatch(term);
  }

  private lost(): void {
    this.term++;
    this.leading.set(0);
    this.log.log({ msg: 'not leading', id: this.me });
    this.stopWatch?.();
    this.stopWatch = undefined;
    clearTimeout(this.timer);
    this.timeline = undefined;
  }

  /** Watch first, then read everything: a change in between is seen twice, which the timeline ignores. */
  private async startWatch(term: number): Promise<void> {
    try {
      const buffered: DispatchChange[] = [];
      let synced = false;
      const stop = await this.bus.dispatches.watch(
        (change) => {
          if (!synced) buffered.push(change);
          else this.enqueue(term, () => [stimulusOf(change)]);
        },
        (err) => {
          if (term !== this.term) return;
          this.log.warn({ msg: 'dispatch watch ended: re-syncing', err: String(err) });
          setTimeout(() => void this.startWatch(term), RESYNC_DELAY_MS).unref();
        },
      );
      if (term !== this.term) return stop();
      this.stopWatch?.();
      this.stopWatch = stop;
      const [dispatches, fired] = await Promise.all([this.bus.dispatches.list(this.config.MESH_SCHEDULER_MAX_DISPATCHES), this.bus.scheduler.firedMarks()]);
      this.enqueue(term, () => [{ type: 'sync', now: Date.now(), dispatches, fired }, ...buffered.splice(0).map(stimulusOf)]);
      synced = true;
      this.log.log({ msg: 'dispatches synced', count: dispatches.length });
    } catch (err) {
      if (term !== this.term) return;
      this.log.warn({ msg: 'dispatch sync failed: retrying', err: String(err) });
      setTimeout(() => void this.startWatch(term), RESYNC_DELAY_MS).unref();
    }
  }

  /** Runs the stimuli through the timeline and performs its actions, one batch after another. */
  private enqueue(term: number, stimuli: () => TimelineStimulus[]): void {
    this.queue = this.queue.then(async () => {
      const timeline = this.timeline;
      if (term !== this.term || !timeline) return;
      for (const action of timeline.handle(...stimuli())) {
        if (term !== this.term || !this.lease.isLeader()) return; // a successor decides again from the marks
        await this.perform(action);
      }
      this.arm(term, timeline);
    }).catch((err: unknown) => this.log.error({ msg: 'scheduler step failed', err: String(err) }));
  }

  private arm(term: number, timeline: Timeline): void {
    clearTimeout(this.timer);
    const due = timeline.nextDueAt();
    if (due === undefined) return;
    const delay = Math.min(Math.max(0, due - Date.now()), MAX_TIMER_MS);
    this.timer = setTimeout(() => this.enqueue(term, () => [{ type: 'tick', now: Date.now() }]), delay);
  }

  private async perform(action: TimelineAction): Promise<void> {
    switch (action.type) {
      case 'fire':
        await this.fire(action.dispatch, action.occurrence, action.until, action.late);
        break;
      case 'stop':
        this.event(DispatchEvent.Stopped, action.dispatch, action.occurrence);
        break;
      case 'notify':
        this.event(action.event, action.dispatch, action.occurrence);
        break;
      case 'skip':
        this.skipped.inc(action.occurrences.length);
        this.log.warn({ msg: 'missed occurrences skipped', dispatchId: action.dispatch.id, misfire: action.dispatch.misfire, count: action.occurrences.length, first: iso(action.occurrences[0]) });
        break;
      case 'forget':
        await this.bus.scheduler.forget(action.id).catch((err: unknown) => this.log.warn({ msg: 'cannot drop fired mark', dispatchId: action.id, err: String(err) }));
        break;
      case 'refuse':
        this.log.error({ msg: 'dispatch cannot be scheduled', dispatchId: action.dispatch.id, reason: action.reason });
        break;
      default:
        action satisfies never;
    }
  }

  private async fire(dispatch: DispatchMessage, occurrence: number, until: number | undefined, late: boolean): Promise<void> {
    const id = dispatchInvocationId(dispatch.id, occurrence);
    const body = {
      args: dispatch.args, id, ...(dispatch.key === undefined ? {} : { key: dispatch.key }),
      dispatch: { id: dispatch.id, occurrence: iso(occurrence), ...(until === undefined ? {} : { until: iso(until) }), dryRun: dispatch.dryRun },
    };
    const failure = await this.submit(dispatch.task, body);
    if (failure !== undefined) {
      this.failed.inc({ code: failure });
      this.log.error({ msg: 'occurrence not submitted', dispatchId: dispatch.id, invocationId: id, code: failure });
      return;
    }
    this.fired.inc({ late: String(late) });
    this.log.log({ msg: 'fired', dispatchId: dispatch.id, invocationId: id, late });
    this.event(DispatchEvent.Started, dispatch, occurrence);
    await this.bus.scheduler.markFired(dispatch.id, occurrence).catch((err: unknown) => this.log.warn({ msg: 'cannot record fired mark', dispatchId: dispatch.id, err: String(err) }));
  }

  /** Submits until the router accepts (or already knows the id); the failure code when every attempt failed. */
  private async submit(task: string, body: object): Promise<string | undefined> {
    let code: string = FailureCode.INTERNAL;
    for (let attempt = 1; attempt <= SUBMIT_ATTEMPTS; attempt++) {
      if (!this.lease.isLeader()) return 'NOT_LEADER';
      try {
        const reply = await this.bus.request(this.bus.subjects.submit(task), JSON.stringify(body), { timeoutMs: SUBMIT_TIMEOUT_MS });
        const failure = ResponseMessage.parse(reply.data).failure;
        if (failure === undefined) return undefined; // accepted (WAITING), or the id is known and running or done
        code = failure.code;
        if (REFUSED.has(code)) return code; // this request will never be accepted: count it, go on
        // Any other failure is the recorded outcome of this id: the occurrence was fired before.
        if (!RETRY.has(code)) return undefined;
      } catch (err) {
        code = (err as Error).name === 'TimeoutError' ? FailureCode.TIMEOUT : 'NO_ROUTER';
      }
      await new Promise((r) => setTimeout(r, SUBMIT_RETRY_MS * attempt));
    }
    return code;
  }

  private event(event: DispatchEvent, dispatch: DispatchMessage, occurrence: number): void {
    this.bus.publish(this.bus.subjects.dispatchEvent(dispatch.id), encodeMessage(DispatchEventMessage.create(event, dispatch, { occurrence: iso(occurrence) })));
  }
}

function stimulusOf(change: DispatchChange): TimelineStimulus {
  return change.op === 'put' ? { type: 'upsert', now: Date.now(), dispatch: change.dispatch } : { type: 'remove', now: Date.now(), id: change.id };
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}
