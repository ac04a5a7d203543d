import { hostname } from 'node:os';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { nuid, type Msg, type Subscription } from '@nats-io/transport-node';
import {
  decodeBody, failureOf, FailureCode, headerSafe, INVOCATION_ID_PATTERN, isFinalState, MeshError, MeshHeader, ResponseMessage, serviceErrorHeaders, TASKMESH_VERSION, type TaskDef,
} from '@taskmesh/protocol';
import { EndpointStatsBook, MESH_BUS, newInbox, serveDiscovery, type DiscoveryResponders, type MeshBus } from '@taskmesh/nats';
import { counter, gauge, HealthRegistry, METRICS, ProgressCheck } from '@taskmesh/runtime';
import { WorkerState, workerStory, type Execute } from '@taskmesh/worker-core';
import type { Registry } from 'prom-client';
import { WorkerDispatcher, type TaskRuntime, type WorkerPorts } from './dispatcher/worker-dispatcher.js';
import { Heartbeat, type HeartbeatSettings } from './heartbeat/heartbeat.js';
import { DeliveryFeed, startedBeforeOn } from './jetstream/delivery-feed.js';
import { WorkMessages } from './jetstream/work-messages.js';
import { WorkPuller, type PulledMessage } from './jetstream/work-puller.js';
import { ShardOwners } from './keyed/shard-owners.js';
import { TaskRegistry } from './tasks/task-registry.js';
import type { TaskContext } from './tasks/task-context.js';

/** Injection token of WorkerOptions. */
export const WORKER_OPTIONS = Symbol('WORKER_OPTIONS');

/** How a worker runs (from its environment: WorkerModule.optionsFrom). */
export interface WorkerOptions {
  workerId?: string;
  concurrency: number;
  notifyPeriodMs: number;
  /** MESH_EXPIRES_AFTER_MS: a worker heard silent this long no longer owns key shards. */
  expiresAfterMs: number;
  ackWaitMs: number;
  drainTimeoutMs: number;
  /** JetStream's max_deliver for work (MESH_MAX_DELIVER): retries stop before it. */
  maxDeliver: number;
  /** Direct requests waiting for a slot, at most (MESH_DIRECT_QUEUE). */
  directQueue?: number;
  heartbeat: Pick<HeartbeatSettings, 'servers' | 'auth'>;
}

/** A pull asks for messages for at most this long, so a draining worker waits at most that for pulls still open. */
const MAX_PULL_EXPIRES_MS = 2000;
/** After draining, how long to wait for the last pulls to end (their expiry plus the server's answer). */
const PULLS_END_GRACE_MS = MAX_PULL_EXPIRES_MS + 2500;
/** A running claim whose holder has no record yet is taken as live for this long (the record is being written). */
const CLAIM_RECORD_GRACE_MS = 10_000;
/**
 * How long an outcome whose store got no acknowledgement is sent again (the events stream electing a new leader in
 * a cluster) before the work is released for another attempt. The message stays held (in-progress acks) meanwhile;
 * a second copy of the outcome is harmless: the recorder applies an attempt's outcome once.
 */
const OUTCOME_STORE_RETRY_MS = 20_000;

/**
 * The worker's I/O shell: NATS ports for the pure core (WorkerState) driven by the WorkerDispatcher, plus the
 * lifecycle (declare consumers, offer tasks, heartbeat thread, drain on shutdown).
 */
@Injectable()
export class WorkerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger('Worker');
  readonly workerId: string;
  // Held messages are kept alive from the heartbeat thread, which a blocked event loop cannot stop.
  private readonly messages = new WorkMessages({ held: (m) => this.heartbeat?.keepAlive(m.ackSubject), released: (m) => this.heartbeat?.forget(m.ackSubject) });
  private readonly encoder = new TextEncoder();
  private readonly progress: ProgressCheck;
  private readonly metrics;
  private puller?: WorkPuller;
  private heartbeat?: Heartbeat;
  private shardOwners?: ShardOwners;
  private core?: WorkerState;
  private dispatcher?: WorkerDispatcher;
  private onDrained?: () => void;
  private stopCancelWatch?: () => void;
  private directRequests?: Subscription;
  private stopStory?: () => void;
  /** Runs per task, for NATS micro discovery (`$SRV.STATS`): count, failures, time in the handler. */
  private readonly runs = new EndpointStatsBook();
  private discovery?: DiscoveryResponders;

  constructor(
    @Inject(WORKER_OPTIONS) private readonly options: WorkerOptions,
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(METRICS) metrics: Registry,
    private readonly registry: TaskRegistry,
    health: HealthRegistry,
  ) {
    this.workerId = options.workerId ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-${nuid.next().slice(-8)}`;
    this.metrics = {
      settled: counter(metrics, 'taskmesh_worker_messages_total', 'Work messages settled, by how', ['how']),
      invalid: counter(metrics, 'taskmesh_invalid_messages_total', 'Inbound messages that failed validation', ['kind']),
      inflight: gauge(metrics, 'taskmesh_worker_inflight', 'Work messages held (running or being recorded)'),
      keyShards: gauge(metrics, 'taskmesh_worker_key_shards', 'Key shards this worker owns and pulls (keyed work)'),
    };
    // "Making progress": an idle worker's pulls end at least every MAX_PULL_EXPIRES_MS; a full one is busy.
    this.progress = new ProgressCheck(3 * MAX_PULL_EXPIRES_MS + options.ackWaitMs);
    health.register('nats', () => ({ ok: !bus.nc.isClosed() }));
    health.register('pulling', () => (!this.core || this.core.freeSlots <= 0 || this.core.draining ? { ok: true } : this.progress.check()));
  }

  async onApplicationBootstrap(): Promise<void> {
    const tasks = this.registry.names();
    if (tasks.length === 0) this.log.warn('no @Task methods found: this worker offers nothing');
    for (const task of tasks) {
      await this.bus.ensureTaskConsumer(task);
      const registered = this.registry.get(task);
      await this.bus.tasks.offer(task, this.workerId, registered?.concurrency, { idempotent: registered?.options.idempotent ?? false, delivery: registered?.options.delivery });
    }
    await this.bus.ensureKeyedConsumers();
    // Keep JetStream from redelivering work that is still running: in-progress acks well within ack_wait.
    const inProgressEveryMs = Math.max(250, Math.floor(this.options.ackWaitMs / 3));
    this.core = new WorkerState({
      workerId: this.workerId,
      capacity: this.options.concurrency,
      tasks: Object.fromEntries(tasks.map((t) => {
        const registered = this.registry.get(t);
        return [t, { timeoutMs: registered?.options.timeoutMs, retry: registered?.options.retry, concurrency: registered?.concurrency }];
      })),
      maxDeliver: this.options.maxDeliver,
      maxDirectQueued: this.options.directQueue,
      inProgressEveryMs,
      pullExpiresMs: Math.min(MAX_PULL_EXPIRES_MS, Math.floor(this.options.ackWaitMs / 2)),
    });
    this.dispatcher = new WorkerDispatcher(this.core, this.ports(), this.bus.limits.keyShards);
    // A redelivery learns whether its invocation started before (the deadline bounds only a first start).
    const deliveries = new DeliveryFeed((input) => this.dispatcher?.feed(input), startedBeforeOn(this.bus));
    this.puller = new WorkPuller(this.bus.nc, this.bus.names.workStream, {
      message: (m) => {
        this.progress.beat();
        const ref = this.messages.hold(m);
        const replyTo = m.headers?.get(MeshHeader.ReplyTo) || undefined;
        const redrivenAfter = redrivenAfterOf(m.headers?.get(MeshHeader.Redriven));
        deliveries.delivered({
          type: 'work-received', pullId: m.pullId, ref, data: m.data, deliveryCount: m.info.deliveryCount, replyTo, wallNow: Date.now(),
          ...(redrivenAfter === undefined ? {} : { redrivenAfter }),
        });
      },
      ended: (pullId, reason) => {
        this.progress.beat();
        if (reason.startsWith('409')) this.log.warn({ msg: 'pull refused', reason });
        deliveries.ended({ type: 'pull-ended', pullId, reason });
      },
    }, newInbox(this.bus.nc));
    this.heartbeat = new Heartbeat({
      ...this.options.heartbeat,
      prefix: this.bus.subjects.prefix,
      worker: this.workerId,
      topic: this.bus.subjects.workerTopic(this.workerId),
      tasks,
      capacity: this.options.concurrency,
      periodMs: this.options.notifyPeriodMs,
      keepAliveEveryMs: inProgressEveryMs,
      // Every message it can hold: running and queued for a slot, waiting for a claim, blocked parents (4 x
      // capacity each at most), one per key shard, and some room.
      maxHeld: 10 * this.options.concurrency + this.bus.limits.keyShards + 64,
    }, (err) => this.log.error({ msg: 'heartbeat thread failed', err: err.message }));
    await this.heartbeat.start();
    // Every cancellation reaches the core: a running task is aborted, a queued one is never started.
    this.stopCancelWatch = await this.bus.cancellations.watch(
      (invocationId) => this.dispatcher?.feed({ type: 'cancel-requested', invocationId }),
      (err) => this.log.error({ msg: 'cancellation watch failed', err: String(err) }),
    );
    // Direct requests: a router placed a call on this worker (no JetStream). Subscribed until the end of a drain, so
    // that what still arrives is refused (and placed elsewhere by the router) rather than lost in silence.
    this.directRequests = this.bus.nc.subscribe(this.bus.subjects.workerTopic(this.workerId), { callback: (_err, msg) => this.onDirect(msg) });
    // `mesh.invocations.story`: the orchestrator asks every worker what its core logged about an invocation.
    this.stopStory = this.bus.subscribe(this.bus.subjects.story(), (msg) => this.onStory(msg));
    // NATS micro discovery: one endpoint per task (its work subject; direct requests count too).
    for (const task of tasks) this.runs.add({ name: task, subject: this.bus.subjects.work(task), queue_group: '' });
    this.discovery = serveDiscovery(this.bus.nc, {
      name: 'taskmesh-worker', id: nuid.next(), version: TASKMESH_VERSION, description: `taskmesh worker ${this.workerId}: runs ${tasks.join(', ') || 'nothing'}`,
      metadata: { worker: this.workerId, topic: this.bus.subjects.workerTopic(this.workerId), concurrency: String(this.options.concurrency) },
    }, this.runs);
    this.log.log({ msg: 'worker ready', worker: this.workerId, tasks, concurrency: this.options.concurrency });
    this.dispatcher.feed({ type: 'start' });
    // Keyed work: pull the key shards this worker owns among the workers it hears.
    this.shardOwners = new ShardOwners({
      nc: this.bus.nc, subjects: this.bus.subjects, self: this.workerId, shards: this.bus.limits.keyShards,
      expiresAfterMs: this.options.expiresAfterMs, notifyPeriodMs: this.options.notifyPeriodMs, now: () => performance.now(),
      owned: (shards) => {
        this.metrics.keyShards.set(shards.length);
        this.dispatcher?.feed({ type: 'shards-owned', shards });
      },
      invalid: (err) => {
        this.metrics.invalid.inc({ kind: 'NOTIFY' });
        this.log.debug({ msg: 'invalid NOTIFY ignored', err: String(err) });
      },
    });
    // A worker that hosts nothing owns no shard (its beat offers no task, so the others do not count it either).
    if (tasks.length > 0) this.shardOwners.start();
  }

  /** SIGTERM: stop pulling, let running tasks finish within the drain timeout, release the rest, stop beating. */
  async beforeApplicationShutdown(): Promise<void> {
    const dispatcher = this.dispatcher;
    if (!dispatcher) return;
    const drained = new Promise<void>((resolve) => (this.onDrained = resolve));
    dispatcher.feed({ type: 'drain-requested' });
    // Beat on, offering nothing: the other workers take this one's key shards over at once.
    this.heartbeat?.withdraw();
    const deadline = setTimeout(() => dispatcher.feed({ type: 'drain-deadline-passed' }), this.options.drainTimeoutMs);
    // Pulls still open at the server would deliver to nobody once we unsubscribe (stranding messages until
    // ack_wait), so the core naks arrivals until every pull has ended; bounded in any case.
    const bound = setTimeout(() => this.onDrained?.(), this.options.drainTimeoutMs + PULLS_END_GRACE_MS);
    await drained;
    clearTimeout(deadline);
    clearTimeout(bound);
    await dispatcher.close();
    this.directRequests?.unsubscribe();
    this.stopStory?.();
    this.discovery?.stop();
    this.shardOwners?.stop();
    this.stopCancelWatch?.();
    this.puller?.close();
    await this.heartbeat?.stop();
    this.log.log({ msg: 'drained', worker: this.workerId });
  }

  /** Answers a story request with this worker's lines of the invocation (none when it never saw it). */
  private onStory(msg: Msg): void {
    let id: unknown;
    try {
      id = (decodeBody(msg.data, 'request') as Record<string, unknown> | null)?.['id'];
    } catch {
      id = undefined;
    }
    if (typeof id !== 'string' || !INVOCATION_ID_PATTERN.test(id) || !msg.reply) {
      this.metrics.invalid.inc({ kind: 'STORY' });
      return;
    }
    const story = workerStory(this.core?.story(id) ?? [], this.workerId, (at) => performance.timeOrigin + at);
    msg.respond(JSON.stringify(story));
  }

  private onDirect(msg: Msg): void {
    // The router's attempt number; anything but a positive integer reads as a first attempt.
    const attempt = Number(msg.headers?.get(MeshHeader.Attempt) || 1);
    this.dispatcher?.feed({
      type: 'direct-received', ref: this.messages.reserve(), data: msg.data, replyTo: msg.reply || undefined,
      attempt: Number.isSafeInteger(attempt) && attempt >= 1 ? attempt : 1, wallNow: Date.now(),
    });
  }

  private ports(): WorkerPorts {
    const message = (ref: number) => this.messages.get(ref);
    const settle = (ref: number, how: string, act: (m: NonNullable<ReturnType<typeof message>>) => void): void => {
      const m = this.messages.release(ref);
      if (!m) return;
      act(m);
      this.metrics.settled.inc({ how });
    };
    return {
      now: () => performance.now(),
      pull: (pullId, task, batch, expiresMs) => this.puller?.pull(pullId, this.bus.names.taskConsumer(task), batch, expiresMs),
      pullShard: (pullId, shard, expiresMs) => this.puller?.pull(pullId, this.bus.names.keyedConsumer(shard), 1, expiresMs),
      ack: (ref) => settle(ref, 'ack', (m) => this.puller?.ack(m)),
      nak: (ref, delayMs) => settle(ref, 'nak', (m) => this.puller?.nak(m, delayMs)),
      term: (ref) => settle(ref, 'term', (m) => this.puller?.term(m)),
      deadLetter: (ref, task, reason) => {
        const m = message(ref);
        if (!m) return;
        // Core publish on the same connection as the settle that follows, so the copy reaches the server first.
        this.bus.publish(this.bus.subjects.deadLetter(task), m.data, {
          [MeshHeader.Reason]: headerSafe(reason),
          [MeshHeader.DeadStream]: m.info.stream,
          [MeshHeader.DeadSeq]: String(m.info.streamSeq),
          [MeshHeader.DeadDeliveries]: String(m.info.deliveryCount),
          [MeshHeader.DeadAt]: new Date().toISOString(),
        });
        this.metrics.settled.inc({ how: 'dead-letter' });
      },
      inProgress: (ref) => {
        const m = message(ref);
        if (m) this.puller?.inProgress(m);
      },
      // Core publish: the events stream captures it; RUNNING and progress need no round trip. Events carry the
      // work's first record, if it came with one, for the orchestrator to create the record from.
      publishEvent: (id, response, ref) => this.bus.publish(this.bus.subjects.invocationEvent(id), this.encode(response), recordHeader(message(ref))),
      storeOutcome: async (id, response, ref) => {
        await this.bus.storeRetrying(this.bus.subjects.invocationEvent(id), this.encode(response), { headers: recordHeader(message(ref)), retryForMs: OUTCOME_STORE_RETRY_MS });
      },
      reply: (replyTo, response) => {
        const failure = response.failure;
        this.bus.publish(replyTo, this.encode(response), failure ? serviceErrorHeaders(failure) : undefined);
      },
      runTask: (exec, ctx) => this.run(exec, ctx),
      claim: (key, invocationId, attempt) => this.claim(key, invocationId, attempt),
      releaseClaim: (key, invocationId) => this.bus.claims.release(key, invocationId),
      callTask: async (task, request, timeoutMs, parentRef) => {
        try {
          // With the parent's first record, if its work came with one: the router lists the child in the parent's
          // record, which the orchestrator may not have created yet (see MeshHeader.Record).
          const reply = await this.bus.request(this.bus.subjects.call(task), JSON.stringify(request), { timeoutMs, headers: recordHeader(message(parentRef)) });
          return ResponseMessage.parse(reply.data);
        } catch (err) {
          if (err instanceof MeshError) throw err;
          throw new MeshError(FailureCode.INTERNAL, `child call ${task} (${request.id}) got no answer: ${(err as Error).message}`, { retryable: true, cause: err });
        }
      },
      cancel: (invocationId) => {
        void this.bus.request(this.bus.subjects.invocations('cancel'), JSON.stringify({ id: invocationId }), { timeoutMs: 5_000 })
          .catch((err: unknown) => this.log.warn({ msg: 'could not cancel an abandoned child call', invocationId, err: String(err) }));
      },
      countInvalid: (kind) => this.metrics.invalid.inc({ kind }),
      log: (level, msg, fields) => {
        const entry = { msg, worker: this.workerId, ...fields };
        if (level === 'error') this.log.error(entry);
        else if (level === 'warn') this.log.warn(entry);
        else if (level === 'info') this.log.log(entry);
        else this.log.debug(entry);
      },
      drained: () => this.onDrained?.(),
      load: (inflight) => {
        this.heartbeat?.setInflight(inflight);
        this.metrics.inflight.set(inflight);
      },
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
    };
  }

  /** Validates the args against the task's DTO (VALIDATION_FAILED, never run), then calls the handler. */
  private async run(exec: Execute, ctx: TaskRuntime): Promise<unknown> {
    const task = this.registry.get(exec.task);
    if (!task) throw new Error(`task ${exec.task} vanished from the registry`);
    // A task without an args DTO takes its args as they came (prepareArgs would return them after a microtask).
    const args = task.options.args ? await this.registry.prepareArgs(exec.task, exec.args) : exec.args;
    // The handler starts in the next turn of the event loop, after what was sent before it (its RUNNING report)
    // has left: with batched writes (NatsConnectOptions.batchWrites) a turn's messages are written at its end, and
    // a handler that blocks the event loop must not hold them back. One immediate per run, queued after the flush
    // its RUNNING report scheduled (an immediate shared by a turn's runs could run before a later report's flush).
    await new Promise((resolve) => setImmediate(resolve));
    const started = process.hrtime.bigint();
    try {
      // A handler that throws at once counts as a failed run, like one that rejects.
      const result = await task.handler(args, {
        invocationId: exec.invocationId, task: exec.task, attempt: exec.attempt, workerId: this.workerId,
        key: exec.key, parentId: exec.parentId, dispatch: exec.dispatch,
        // Read from the dispatcher only when the handler asks: most never do, and the signal is made on first read.
        get signal() {
          return ctx.signal;
        },
        progress: (details) => ctx.progress(details),
        call: ((task: string | TaskDef, callArgs?: unknown, opts?: Parameters<TaskRuntime['call']>[2]) =>
          ctx.call(typeof task === 'string' ? task : task.name, callArgs, opts)) as TaskContext['call'],
      });
      this.runs.record(exec.task, Number(process.hrtime.bigint() - started));
      return result;
    } catch (err) {
      const failure = failureOf(err, FailureCode.TASK_FAILED);
      this.runs.record(exec.task, Number(process.hrtime.bigint() - started), `${failure.code}: ${failure.message}`);
      throw err;
    }
  }

  /**
   * Running concurrency: claims `key` for this attempt. A holder that is the same invocation (an earlier attempt,
   * whose worker was lost), or whose invocation has ended, or whose record is gone, is stale and taken over.
   */
  private async claim(key: string, invocationId: string, attempt: number): Promise<boolean> {
    const mine = { id: invocationId, attempt, worker: this.workerId, at: new Date().toISOString() };
    const held = await this.bus.claims.claim(key, mine);
    if (held === undefined) return true;
    if (held.claim.id !== invocationId) {
      const stored = await this.bus.invocations.get(held.claim.id);
      if (stored !== undefined && !isFinalState(stored.record.state)) return false;
      if (stored === undefined && Date.now() - Date.parse(held.claim.at) < CLAIM_RECORD_GRACE_MS) return false;
    }
    return this.bus.claims.takeOver(key, mine, held.revision);
  }

  private encode(response: ResponseMessage): Uint8Array {
    return this.encoder.encode(JSON.stringify(response));
  }
}

/** The first record its work came with (generated ids), for the events about it: see MeshHeader.Record. */
function recordHeader(m: PulledMessage | undefined): Record<string, string> | undefined {
  const record = m?.headers?.get(MeshHeader.Record);
  return record ? { [MeshHeader.Record]: record } : undefined;
}

/** The Mesh-Redriven header's attempts-before count; undefined when absent or not a non-negative integer. */
export function redrivenAfterOf(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const n = Number(header);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
