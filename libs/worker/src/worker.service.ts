import { hostname } from 'node:os';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { nuid } from '@nats-io/transport-node';
import {
  FailureCode, InvalidMessageError, MeshError, MeshHeader, RequestMessage, ResponseMessage, failureOf, serviceErrorHeaders,
  type Failure, type JsonValue,
} from '#protocol';
import { MESH_BUS, type MeshBus } from '#nats';
import { counter, gauge, HealthRegistry, histogram, METRICS, ProgressCheck } from '#runtime';
import type { Registry } from 'prom-client';
import { Heartbeat, type HeartbeatSettings } from './heartbeat/heartbeat.js';
import { planPulls } from './jetstream/pull-planner.js';
import { WorkMessages } from './jetstream/work-messages.js';
import { WorkPuller, type PulledMessage } from './jetstream/work-puller.js';
import { TaskRegistry } from './tasks/task-registry.js';

/** Injection token of WorkerOptions. */
export const WORKER_OPTIONS = Symbol('WORKER_OPTIONS');

/** How a worker runs (from its environment: WorkerModule.optionsFrom). */
export interface WorkerOptions {
  workerId?: string;
  concurrency: number;
  notifyPeriodMs: number;
  ackWaitMs: number;
  drainTimeoutMs: number;
  heartbeat: Pick<HeartbeatSettings, 'servers' | 'user' | 'password'>;
}

/** A pull asks for messages for at most this long; shorter than ack_wait so drain never waits long on one. */
const MAX_PULL_EXPIRES_MS = 2000;
/** Re-pull for a task with a pull outstanding only for this many freed slots (a request per message is waste). */
const MIN_REPULL_BATCH = 4;
/** Outstanding pulls per task at most. */
const MAX_PULLS_PER_TASK = 4;
/** A store of the outcome that failed is handed back to JetStream with this delay (it retries elsewhere). */
const NAK_AFTER_STORE_FAILURE_MS = 1000;

interface Running {
  ref: number;
  request: RequestMessage;
  attempt: number;
  abort: AbortController;
  keepAlive: NodeJS.Timeout;
  replyTo?: string;
  /** Set once the outcome is decided (finished, timed out, cancelled): later outcomes are ignored. */
  settled: boolean;
}

/**
 * The worker's I/O shell: pulls work for its free slots, validates each REQUEST at the edge, runs the task
 * handler with an AbortSignal and a deadline, keeps the message alive with in-progress acks, records the outcome
 * in the events stream BEFORE acking (a lost worker means redelivery, never a lost result), replies to the
 * waiting router, and drains on shutdown. The heartbeat runs on its own thread (see Heartbeat).
 */
@Injectable()
export class WorkerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger('Worker');
  readonly workerId: string;
  private readonly messages = new WorkMessages();
  private readonly running = new Map<number, Running>();
  /** Outstanding pulls: pullId -> task and how many slots it still reserves. */
  private readonly pulls = new Map<number, { task: string; reserved: number }>();
  private nextPullId = 1;
  private rotation = 0;
  private tasks: string[] = [];
  private puller?: WorkPuller;
  private heartbeat?: Heartbeat;
  private draining = false;
  private idle?: () => void;
  private readonly progress: ProgressCheck;
  private readonly encoder = new TextEncoder();
  private readonly metrics;

  constructor(
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(METRICS) metrics: Registry,
    private readonly registry: TaskRegistry,
    health: HealthRegistry,
  ) {
    this.workerId = options.workerId ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-${nuid.next().slice(-8)}`;
    this.metrics = {
      tasks: counter(metrics, 'taskmesh_worker_tasks_total', 'Task attempts finished, by task and outcome', ['task', 'outcome']),
      invalid: counter(metrics, 'taskmesh_invalid_messages_total', 'Inbound messages that failed validation', ['kind']),
      duration: histogram(metrics, 'taskmesh_worker_task_seconds', 'Task run time', ['task'], [0.001, 0.01, 0.1, 0.5, 1, 5, 30, 120]),
      inflight: gauge(metrics, 'taskmesh_worker_inflight', 'Tasks running now'),
    };
    // "Making progress": pulls are always outstanding on an idle worker and end at least every MAX_PULL_EXPIRES_MS.
    this.progress = new ProgressCheck(3 * MAX_PULL_EXPIRES_MS + options.ackWaitMs);
    health.register('nats', () => ({ ok: !bus.nc.isClosed() }));
    health.register('pulling', () => (this.running.size >= this.options.concurrency || this.draining ? { ok: true } : this.progress.check()));
  }

  async onApplicationBootstrap(): Promise<void> {
    this.tasks = this.registry.names();
    if (this.tasks.length === 0) this.log.warn('no @Task methods found: this worker offers nothing');
    for (const task of this.tasks) {
      await this.bus.ensureTaskConsumer(task);
      await this.bus.tasks.offer(task, this.workerId);
    }
    this.puller = new WorkPuller(this.bus.nc, this.bus.names.workStream, {
      message: (m) => this.onMessage(m),
      ended: (pullId, reason) => this.onPullEnded(pullId, reason),
    }, `_INBOX.${nuid.next()}`);
    this.heartbeat = new Heartbeat({
      ...this.options.heartbeat,
      prefix: this.bus.subjects.prefix,
      worker: this.workerId,
      topic: this.bus.subjects.workerTopic(this.workerId),
      tasks: this.tasks,
      capacity: this.options.concurrency,
      periodMs: this.options.notifyPeriodMs,
    }, (err) => this.log.error({ msg: 'heartbeat thread failed', err: err.message }));
    await this.heartbeat.start();
    this.log.log({ msg: 'worker ready', worker: this.workerId, tasks: this.tasks, concurrency: this.options.concurrency });
    this.fill();
  }

  /** SIGTERM: stop pulling, let running tasks finish within the drain timeout, release the rest, stop beating. */
  async beforeApplicationShutdown(): Promise<void> {
    this.draining = true;
    this.log.log({ msg: 'draining', running: this.running.size, timeoutMs: this.options.drainTimeoutMs });
    const done = new Promise<void>((resolve) => (this.idle = resolve));
    this.checkIdle();
    const timer = setTimeout(() => {
      for (const run of this.running.values()) {
        this.log.warn({ msg: 'drain timeout: releasing task to another worker', invocationId: run.request.id, task: run.request.task });
        this.settle(run, undefined);
        run.abort.abort(new MeshError(FailureCode.CANCELLED, 'worker is stopping'));
      }
      this.checkIdle();
    }, this.options.drainTimeoutMs);
    await done;
    clearTimeout(timer);
    // Pulls still waiting at the server could deliver to nobody once we unsubscribe, stranding messages until
    // ack_wait: keep naking arrivals until they have all ended (each within its expiry).
    const pullsOver = Date.now() + MAX_PULL_EXPIRES_MS + 2500;
    while (this.pulls.size > 0 && Date.now() < pullsOver) await new Promise((r) => setTimeout(r, 50));
    this.puller?.close();
    await this.heartbeat?.stop();
    this.log.log({ msg: 'drained', worker: this.workerId });
  }

  /** Issues pulls for the free slots (never more messages than slots). */
  private fill(): void {
    if (this.draining || !this.puller) return;
    let reserved = 0;
    const outstanding = new Map<string, number>();
    for (const p of this.pulls.values()) {
      reserved += p.reserved;
      outstanding.set(p.task, (outstanding.get(p.task) ?? 0) + 1);
    }
    const free = this.options.concurrency - this.running.size - reserved;
    const plan = planPulls({ tasks: this.tasks, free, outstanding, rotation: this.rotation++, minBatch: MIN_REPULL_BATCH, maxOutstanding: MAX_PULLS_PER_TASK });
    const expires = Math.min(MAX_PULL_EXPIRES_MS, Math.floor(this.options.ackWaitMs / 2));
    for (const { task, batch } of plan) {
      const pullId = this.nextPullId++;
      this.pulls.set(pullId, { task, reserved: batch });
      this.puller.pull(pullId, this.bus.names.taskConsumer(task), batch, expires);
    }
  }

  private onPullEnded(pullId: number, reason: string): void {
    this.pulls.delete(pullId);
    this.progress.beat();
    if (reason.startsWith('409')) this.log.warn({ msg: 'pull refused', reason });
    this.fill();
    this.checkIdle();
  }

  private onMessage(m: PulledMessage): void {
    const pull = this.pulls.get(m.pullId);
    if (pull) pull.reserved -= 1;
    this.progress.beat();
    if (this.draining || !pull) {
      // No slot for it (we are stopping): hand it straight back.
      this.puller?.nak(m);
      return;
    }
    const ref = this.messages.hold(m);
    const replyTo = m.headers?.get(MeshHeader.ReplyTo) || undefined;
    let request: RequestMessage;
    try {
      request = RequestMessage.parse(m.data);
    } catch (err) {
      // G5: an invalid message is never executed; answered if it can be, counted, logged, removed from the queue.
      this.metrics.invalid.inc({ kind: 'REQUEST' });
      const failure = failureOf(err, FailureCode.BAD_REQUEST);
      this.log.warn({ msg: 'invalid REQUEST terminated', stream: m.info.stream, seq: m.info.streamSeq, problems: err instanceof InvalidMessageError ? err.problems : String(err) });
      if (replyTo) this.reply(replyTo, ResponseMessage.failure(undefined, failure));
      this.puller?.term(this.messages.release(ref)!, 'invalid request');
      this.fill();
      return;
    }
    const attempt = m.info.deliveryCount;
    const run: Running = {
      ref, request, attempt, replyTo, settled: false,
      abort: new AbortController(),
      // Keep JetStream from redelivering a task that is still running: in-progress ack well within ack_wait.
      keepAlive: setInterval(() => this.puller?.inProgress(m), Math.max(250, Math.floor(this.options.ackWaitMs / 3))),
    };
    this.running.set(ref, run);
    this.heartbeat?.setInflight(this.running.size);
    this.metrics.inflight.set(this.running.size);
    void this.execute(run);
  }

  private async execute(run: Running): Promise<void> {
    const { request, attempt } = run;
    const task = this.registry.get(request.task);
    const started = performance.now();
    if (!task) {
      this.settle(run, { ok: false, error: new MeshError(FailureCode.UNKNOWN_TASK, `worker ${this.workerId} does not offer ${request.task}`) });
      return;
    }
    if (Date.now() > request.deadline) {
      // Work not started by its deadline is never started.
      this.settle(run, { ok: false, error: new MeshError(FailureCode.TIMEOUT, `not started before its deadline (${new Date(request.deadline).toISOString()})`) });
      return;
    }
    const meta = { attempt, worker: this.workerId };
    this.publishEvent(request.id, ResponseMessage.state(request.id, 'RUNNING', meta));
    const timeoutMs = task.options.timeoutMs;
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
      const err = new MeshError(FailureCode.TIMEOUT, `${request.task} ran longer than its ${timeoutMs} ms timeout`);
      this.settle(run, { ok: false, error: err });
      run.abort.abort(err);
    }, timeoutMs);
    try {
      const args = await this.registry.prepareArgs(request.task, request.args);
      const result = await task.handler(args, {
        invocationId: request.id, task: request.task, attempt, workerId: this.workerId, key: request.key, parentId: request.parentId,
        signal: run.abort.signal,
        progress: (details) => this.publishEvent(request.id, ResponseMessage.event(request.id, 'progress', details, meta)),
      });
      this.settle(run, { ok: true, result: result === undefined ? null : (result as JsonValue) });
    } catch (err) {
      this.settle(run, { ok: false, error: err });
    } finally {
      clearTimeout(timer);
      this.metrics.duration.observe({ task: request.task }, (performance.now() - started) / 1000);
    }
  }

  /**
   * Decides the attempt's outcome once: records it, replies, then acks. `outcome` undefined = release the work
   * (nak) without an outcome, as on a drain timeout.
   */
  private settle(run: Running, outcome: Outcome | undefined): void {
    if (run.settled) return;
    run.settled = true;
    clearInterval(run.keepAlive);
    const m = this.messages.get(run.ref)!;
    if (outcome === undefined) {
      this.finish(run, 'released', () => this.puller?.nak(m));
      return;
    }
    const { request, attempt } = run;
    const meta = { attempt, worker: this.workerId };
    const response = outcome.ok
      ? ResponseMessage.success(request.id, outcome.result, meta)
      : ResponseMessage.failure(request.id, failureOf(outcome.error, FailureCode.TASK_FAILED), meta);
    const failure: Failure | undefined = response.failure;
    void this.bus.js.publish(this.bus.subjects.invocationEvent(request.id), JSON.stringify(response)).then(
      () => {
        if (run.replyTo) this.reply(run.replyTo, response, failure);
        this.finish(run, failure?.code ?? 'SUCCESS', () => this.puller?.ack(m));
      },
      (err: unknown) => {
        // Never ack a result that is not recorded: JetStream redelivers and another attempt records it.
        this.log.error({ msg: 'could not record outcome; releasing the work', invocationId: request.id, err: (err as Error)?.message });
        this.finish(run, 'unrecorded', () => this.puller?.nak(m, NAK_AFTER_STORE_FAILURE_MS));
      },
    );
  }

  private finish(run: Running, outcome: string, settleMessage: () => void): void {
    settleMessage();
    this.messages.release(run.ref);
    this.running.delete(run.ref);
    this.metrics.tasks.inc({ task: run.request.task, outcome });
    this.heartbeat?.setInflight(this.running.size);
    this.metrics.inflight.set(this.running.size);
    this.fill();
    this.checkIdle();
  }

  private reply(replyTo: string, response: ResponseMessage, failure = response.failure): void {
    this.bus.publish(replyTo, this.encoder.encode(JSON.stringify(response)), failure ? serviceErrorHeaders(failure) : undefined);
  }

  private publishEvent(id: string, response: ResponseMessage): void {
    // Core publish: the events stream captures it; RUNNING and progress need no round trip.
    this.bus.publish(this.bus.subjects.invocationEvent(id), this.encoder.encode(JSON.stringify(response)));
  }

  private checkIdle(): void {
    if (this.draining && this.running.size === 0 && this.idle) {
      const idle = this.idle;
      this.idle = undefined;
      idle();
    }
  }
}

/** How an attempt ended: a result, or what was thrown (a MeshError keeps its code; anything else is TASK_FAILED). */
type Outcome = { ok: true; result: JsonValue } | { ok: false; error: unknown };
