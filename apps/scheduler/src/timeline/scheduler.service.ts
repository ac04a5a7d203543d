import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DEFAULT_TIMEOUT_MS, DispatchEventMessage, DispatchEventType, ResponseMessage, type DispatchRecord } from '@taskmesh/protocol';
import { MESH_BUS, uniqueId, type DispatchStore, type KvLease, type MeshBus } from '@taskmesh/nats';
import { APP_CONFIG, counter, gauge, HealthRegistry, METRICS } from '@taskmesh/runtime';
import type { Registry } from 'prom-client';
import { DISPATCH_STORE } from '../dispatches/dispatch-store.provider.js';
import type { SchedulerConfig } from '../scheduler.config.js';
import { Recurrence } from './recurrence.js';
import { Timeline, type Effect, type TimedDispatch } from './timeline.js';

/** An occurrence at most this late is on time (timers fire late; a takeover takes a moment). */
const GRACE_MS = 1_000;
/** Submits of one occurrence are retried (the router may be restarting) with this first wait, doubling to 5 s. */
const SUBMIT_RETRY_MS = 200;
const MAX_SUBMIT_RETRY_MS = 5_000;
/** Fires waiting to be submitted at most (a router outage with many due dispatches). */
const MAX_PENDING_FIRES = 10_000;

/** The invocation id of an occurrence: the same occurrence is the same invocation, whoever submits it, however often. */
export function occurrenceId(dispatchId: string, occurrence: number): string {
  return `dispatch:${dispatchId}:${occurrence}`;
}

/**
 * The scheduler's I/O shell: keeps every dispatch (KV watch), holds or follows the leader lease, and, while it
 * leads, runs the pure Timeline behind one timer and performs its effects: submit an occurrence (id
 * `dispatch:<id>:<epoch ms>`, so it fires exactly once whatever replicas run or restart) and announce
 * `started` / `stopped`. Becoming leader rebuilds the timeline from the store with the misfire policies.
 */
@Injectable()
export class SchedulerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Scheduler');
  readonly replicaId: string;
  private readonly known = new Map<string, DispatchRecord>();
  private timeline?: Timeline;
  private timer?: NodeJS.Timeout;
  private leaseTimer?: NodeJS.Timeout;
  private lease?: KvLease;
  private stopWatch?: () => void;
  private stopping = false;
  private pendingFires = 0;
  /** While becoming leader: changes seen meanwhile, applied once the timeline is built (they may be newer than the read). */
  private changesWhileStepping?: Array<[string, DispatchRecord | undefined]>;
  private readonly metrics;

  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(DISPATCH_STORE) private readonly store: DispatchStore,
    @Inject(APP_CONFIG) private readonly config: SchedulerConfig,
    @Inject(METRICS) metrics: Registry,
    health: HealthRegistry,
  ) {
    this.replicaId = config.MESH_SCHEDULER_ID ?? `scheduler-${uniqueId().slice(-10)}`;
    this.metrics = {
      fired: counter(metrics, 'taskmesh_scheduler_fired_total', 'Occurrences submitted, by how', ['how']),
      leader: gauge(metrics, 'taskmesh_scheduler_leader', '1 while this replica leads'),
      invalid: counter(metrics, 'taskmesh_invalid_messages_total', 'Inbound messages that failed validation', ['kind']),
    };
    health.register('nats', () => ({ ok: !bus.isClosed() }));
  }

  /** Whether this replica leads (fires) now. */
  get leading(): boolean {
    return this.timeline !== undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.lease = await this.bus.openLease('scheduler');
    this.stopWatch = await this.store.watch({
      onChange: (id, record) => this.changed(id, record),
      onInvalid: (id, err) => {
        this.metrics.invalid.inc({ kind: 'DISPATCH' });
        this.log.warn({ msg: 'unreadable dispatch ignored', id, err: String(err) });
      },
      onError: (err) => this.log.error({ msg: 'dispatch watch failed', err: String(err) }),
    });
    await this.leaseStep();
    this.log.log({ msg: 'scheduler ready', replica: this.replicaId, leading: this.leading });
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.leaseTimer);
    this.stopWatch?.();
    const wasLeading = this.leading;
    this.stepDown();
    // Let the next leader take over at once rather than after the lease runs out.
    if (wasLeading) await this.lease?.release(this.replicaId).catch(() => undefined);
  }

  /** One lease step, then the next one a third of the lease later. */
  private async leaseStep(): Promise<void> {
    if (this.stopping) return;
    let leads = false;
    try {
      leads = (await this.lease?.step(this.replicaId, this.config.MESH_SCHEDULER_LEASE_MS)) ?? false;
    } catch (err) {
      this.log.error({ msg: 'lease step failed; not leading until it works', err: String(err) });
    }
    if (leads && !this.leading) {
      // Holding the lease without a timeline (the store could not be read) is retried at the next step.
      await this.stepUp().catch((err: unknown) => this.log.error({ msg: 'could not start leading; retrying', err: String(err) }));
    }
    else if (!leads && this.leading) this.stepDown();
    if (!this.stopping) this.leaseTimer = setTimeout(() => void this.leaseStep(), Math.floor(this.config.MESH_SCHEDULER_LEASE_MS / 3));
  }

  /** Now leading: the timeline from the store as it is, with the misfire policies for what was missed. */
  private async stepUp(): Promise<void> {
    const timeline = new Timeline({ catchUpMs: this.config.MESH_SCHEDULER_CATCHUP_MS, graceMs: GRACE_MS });
    this.changesWhileStepping = [];
    let records: DispatchRecord[];
    try {
      records = await this.store.list(this.config.MESH_MAX_DISPATCHES);
    } catch (err) {
      this.changesWhileStepping = undefined;
      throw err;
    }
    const now = Date.now();
    const effects: Effect[] = [];
    for (const record of records) {
      this.known.set(record.id, record);
      const timed = this.timed(record);
      if (timed) effects.push(...timeline.set(timed, now, { resync: true }));
    }
    this.timeline = timeline;
    const meanwhile = this.changesWhileStepping;
    this.changesWhileStepping = undefined;
    for (const [id, record] of meanwhile) this.changed(id, record);
    this.metrics.leader.set(1);
    this.log.log({ msg: 'leading: firing dispatches', replica: this.replicaId, dispatches: timeline.size, catchingUp: effects.length });
    this.perform(effects);
    this.arm();
  }

  private stepDown(): void {
    if (!this.timeline) return;
    this.timeline = undefined;
    clearTimeout(this.timer);
    this.metrics.leader.set(0);
    this.log.warn({ msg: 'not leading any more', replica: this.replicaId });
  }

  /** A dispatch was created, updated or deleted (by any replica): reschedule it if leading. */
  private changed(id: string, record: DispatchRecord | undefined): void {
    if (this.changesWhileStepping) {
      this.changesWhileStepping.push([id, record]);
      return;
    }
    const previous = this.known.get(id);
    if (record) this.known.set(id, record);
    else this.known.delete(id);
    const timeline = this.timeline;
    if (!timeline) return;
    const timed = record && this.timed(record);
    // A deleted dispatch's running occurrence is stopped with the record it ran under.
    this.perform(timed ? timeline.set(timed, Date.now()) : timeline.delete(id), previous);
    this.arm();
  }

  /** The one timer, set for the timeline's next event. */
  private arm(): void {
    clearTimeout(this.timer);
    const at = this.timeline?.nextAt();
    if (at === undefined || this.stopping) return;
    this.timer = setTimeout(() => {
      if (!this.timeline) return;
      this.perform(this.timeline.advance(Date.now()));
      this.arm();
    }, Math.max(0, Math.min(at - Date.now(), 2_147_483_647)));
  }

  private perform(effects: Effect[], gone?: DispatchRecord): void {
    for (const effect of effects) {
      const record = this.known.get(effect.id) ?? (gone?.id === effect.id ? gone : undefined);
      if (!record) continue;
      if (effect.type === 'stop') {
        this.announce(DispatchEventType.Stopped, record, effect.occurrence);
      } else if (effect.type === 'notify') {
        // Runtime attributes changed while it runs: `started` again with the new definition (no new submit).
        this.announce(DispatchEventType.Started, record, effect.occurrence);
      } else if (this.pendingFires >= MAX_PENDING_FIRES) {
        this.log.error({ msg: 'too many occurrences waiting to be submitted; this one is dropped', id: effect.id, occurrence: new Date(effect.occurrence).toISOString() });
      } else {
        this.pendingFires += 1;
        void this.fire(record, effect).finally(() => (this.pendingFires -= 1));
      }
    }
  }

  /**
   * Submits one occurrence and announces `started`. The id makes a repeat harmless (the router answers the
   * existing invocation), so a late occurrence (catch-up after an outage) that a previous leader already
   * submitted is only skipped, without a second `started`.
   */
  private async fire(record: DispatchRecord, effect: Extract<Effect, { type: 'fire' }>): Promise<void> {
    const id = occurrenceId(record.id, effect.occurrence);
    if (effect.late && (await this.bus.invocations.get(id).catch(() => undefined))) {
      this.metrics.fired.inc({ how: 'already' });
      return;
    }
    const body = JSON.stringify({
      args: record.args, id, ...(record.key === undefined ? {} : { key: record.key }),
      // Work not started within the occurrence's window never starts.
      timeoutMs: record.duration ?? DEFAULT_TIMEOUT_MS,
      dispatch: {
        id: record.id, occurrence: new Date(effect.occurrence).toISOString(), dryRun: record.dryRun,
        ...(effect.until === undefined ? {} : { until: new Date(effect.until).toISOString() }),
      },
    });
    for (let wait = SUBMIT_RETRY_MS; ; wait = Math.min(2 * wait, MAX_SUBMIT_RETRY_MS)) {
      if (!this.leading) return; // the next leader submits it (same id)
      try {
        const reply = ResponseMessage.parse((await this.bus.request(this.bus.subjects.submit(record.task), body, { timeoutMs: 10_000 })).data);
        if (reply.failure && reply.failure.retryable) throw new Error(`${reply.failure.code}: ${reply.failure.message}`);
        if (reply.failure) {
          this.log.error({ msg: 'occurrence refused', id, code: reply.failure.code, message: reply.failure.message });
          this.metrics.fired.inc({ how: 'refused' });
          return;
        }
        break;
      } catch (err) {
        if (Date.now() - effect.occurrence > this.config.MESH_SCHEDULER_CATCHUP_MS) {
          this.log.error({ msg: 'occurrence could not be submitted within the catch-up window; given up', id, err: String(err) });
          this.metrics.fired.inc({ how: 'given-up' });
          return;
        }
        this.log.warn({ msg: 'submit failed; retrying', id, retryInMs: wait, err: String(err) });
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
    this.metrics.fired.inc({ how: effect.late ? 'late' : 'on-time' });
    this.announce(DispatchEventType.Started, record, effect.occurrence);
  }

  /** The timeline's view of a stored dispatch; undefined (and logged) when it cannot be scheduled. */
  private timed(record: DispatchRecord): TimedDispatch | undefined {
    try {
      return {
        id: record.id, active: record.active, duration: record.duration, misfire: record.misfire, recurrence: Recurrence.of(record),
        since: Date.parse(record.updatedAt),
        runtime: JSON.stringify([record.task, record.args, record.key ?? null, record.duration ?? null, record.dryRun]),
      };
    } catch (err) {
      this.log.warn({ msg: 'dispatch cannot be scheduled; ignored', id: record.id, err: String(err) });
      return undefined;
    }
  }

  private announce(event: DispatchEventType, record: DispatchRecord, occurrence: number): void {
    this.bus.publish(this.bus.subjects.dispatchEvent(record.id), JSON.stringify(DispatchEventMessage.create(event, record, occurrence)));
  }
}
