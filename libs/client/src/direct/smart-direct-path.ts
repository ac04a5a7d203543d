import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import { headers as natsHeaders, nuid, type Msg, type NatsConnection, type QueuedIterator, type Subscription } from '@nats-io/transport-node';
import {
  DEFAULT_NOTIFY_PERIOD_MS, FailureCode, MeshError, NotifyMessage, ResponseMessage, Subjects, TaskOffer, assertToken, meshNames,
} from '@taskmesh/protocol';
import type { DirectPath } from '../direct-path.js';
import type { CallOptions } from '../mesh-client.js';
import { DirectCaller } from './direct-caller.js';
import { goesDirect } from './goes-direct.js';
import { placeDirect } from './placement.js';
import { offerTraits, type TaskTraits } from './task-traits.js';
import { WorkerRegistry, type WorkerView } from './worker-registry.js';

/** Direct calls one client waits on at once by default; past it a call is answered OVERLOADED (retryable). */
export const DEFAULT_MAX_DIRECT_CALLS = 10_000;
/** Tasks whose traits a client keeps, at most (the tasks bucket is bounded too; this bounds a client's memory). */
const MAX_KNOWN_TASKS = 10_000;
/** How long creating the path waits for the tasks bucket's current offers before it serves (later ones still come). */
const FIRST_OFFERS_WAIT_MS = 2_000;
/** Pause before the tasks bucket is watched again after the watch failed or the bucket did not exist yet. */
const REWATCH_MS = 2_000;

export interface DirectPathOptions {
  /** Subject prefix of the mesh (`MESH_PREFIX`). */
  prefix: string;
  /** A worker silent this long is expired (`MESH_EXPIRES_AFTER_MS`); measured on this process's monotonic clock. */
  expiresAfterMs: number;
  /** The workers' notify period (`MESH_NOTIFY_PERIOD_MS`); expiry is checked every quarter of it. */
  notifyPeriodMs?: number;
  /** This client's id in its reply subjects `<p>.reply.<clientId>.<invocationId>`; default `client-<unique>`. */
  clientId?: string;
  /** Direct calls waiting at once, at most (default DEFAULT_MAX_DIRECT_CALLS). */
  maxCalls?: number;
  /** Answered ids remembered to reject late reports (default 10,000). */
  remember?: number;
  /** Hears what is dropped or given up (an invalid NOTIFY or report, a late report, a worker expired). */
  onWarning?: (message: string, fields: Record<string, unknown>) => void;
}

/** What a SmartDirectPath counted since it started. */
export interface DirectPathCounts {
  /** Reports rejected: from a superseded attempt, or after the call was answered. */
  rejected: number;
  /** Inbound messages dropped as invalid (NOTIFY, reports, task offers). */
  invalid: number;
  /** Calls sent again (refused, nobody listening, worker lost or stopping). */
  placedAgain: number;
  /** Workers expired (silent for `expiresAfterMs`). */
  expired: number;
}

/**
 * A client's smart direct mode (docs/PROTOCOL.md 4.9): it keeps its own registry of live workers from NOTIFY and
 * the traits of every task from the tasks bucket, and sends direct calls straight to a worker's topic with its own
 * reply subject, with no router hop, through the same DirectCaller (placement, book, timers, fencing, expiry
 * handling) a router uses. A call whose task's traits are unknown, or which needs an invocation record, is not
 * accepted: the caller sends it through a router.
 */
export class SmartDirectPath implements DirectPath {
  private readonly subjects: Subjects;
  private readonly registry: WorkerRegistry;
  private readonly traits = new Map<string, TaskTraits>();
  private readonly caller: DirectCaller<Msg>;
  private readonly replyPrefix: string;
  private readonly subs: Subscription[] = [];
  private readonly counts: DirectPathCounts = { rejected: 0, invalid: 0, placedAgain: 0, expired: 0 };
  private sweep?: NodeJS.Timeout;
  private watch?: QueuedIterator<KvWatchEntry>;
  private rewatch?: NodeJS.Timeout;
  private closed = false;
  readonly clientId: string;

  constructor(private readonly nc: NatsConnection, private readonly options: DirectPathOptions) {
    this.subjects = new Subjects(options.prefix);
    this.registry = new WorkerRegistry(options.expiresAfterMs);
    this.clientId = assertToken(options.clientId ?? `client-${nuid.next().slice(-12)}`, 'client id');
    // Ids are generated here (nuid: subject-safe), so the reply subject is the prefix and the id.
    this.replyPrefix = this.subjects.reply(this.clientId, 'x').slice(0, -1);
    const warn = options.onWarning ?? (() => undefined);
    this.caller = new DirectCaller<Msg>({
      send: (topic, data, headers, reply) => {
        const h = natsHeaders();
        for (const [k, v] of Object.entries(headers)) h.set(k, v);
        nc.publish(topic, data, { headers: h, reply });
      },
      place: (task, key, exclude) => placeDirect(this.registry.placeable(), task, key, exclude),
      noteSent: (worker) => this.registry.noteSent(worker),
      rejected: (id, report, why) => {
        this.counts.rejected += 1;
        warn('late direct report rejected', { invocationId: id, worker: report.worker, attempt: report.attempt, state: report.state, why });
      },
      invalid: (id, err) => {
        this.counts.invalid += 1;
        warn('invalid direct report dropped', { invocationId: id, err: err instanceof Error ? err.message : String(err) });
      },
      placedAgain: (id, why) => {
        this.counts.placedAgain += 1;
        if (why === 'worker-lost') warn('direct call placed again: its worker was lost', { invocationId: id });
      },
    }, { maxCalls: options.maxCalls ?? DEFAULT_MAX_DIRECT_CALLS, ...(options.remember === undefined ? {} : { remember: options.remember }) });
  }

  /** Subscribes to NOTIFY and its reply subjects, asks every worker to announce itself, and reads the task offers. */
  async start(): Promise<void> {
    const warn = this.options.onWarning ?? (() => undefined);
    this.subs.push(this.nc.subscribe(this.subjects.notify(), {
      callback: (_err, msg) => {
        let notify: NotifyMessage;
        try {
          notify = NotifyMessage.parse(msg.data);
        } catch (err) {
          this.counts.invalid += 1;
          warn('invalid NOTIFY ignored', { err: err instanceof Error ? err.message : String(err) });
          return;
        }
        this.registry.observe(notify, performance.now());
      },
    }));
    const prefixLength = this.replyPrefix.length;
    this.subs.push(this.nc.subscribe(this.subjects.replyAll(this.clientId), {
      callback: (_err, msg) => {
        // A JetStream push consumer delivers a stream's messages under their original subjects (docs/PROTOCOL.md
        // section 10): only a message on one of our reply subjects is a reply.
        if (!msg.subject.startsWith(this.replyPrefix)) {
          this.counts.invalid += 1;
          warn('message on the reply subscription under another subject dropped', { subject: msg.subject });
          return;
        }
        void this.caller.onReply(msg.subject.slice(prefixLength), msg);
      },
    }));
    const every = Math.max(25, Math.floor((this.options.notifyPeriodMs ?? DEFAULT_NOTIFY_PERIOD_MS) / 4));
    this.sweep = setInterval(() => this.expire(), every);
    this.sweep.unref();
    // Ask every worker to announce itself now rather than within a period; the subscription is in place first.
    await this.nc.flush();
    this.nc.publish(this.subjects.notifyRequest(), '{}');
    await this.watchOffers();
  }

  accepts(task: string, options: CallOptions): boolean {
    if (this.closed) return false;
    const traits = this.traits.get(task);
    // Unknown traits (idempotent? concurrency controls?): a router, which knows them, serves it.
    if (traits === undefined) return false;
    if (!goesDirect('call', { delivery: options.delivery, id: options.id }, traits)) return false;
    return this.registry.offers(task);
  }

  async call(task: string, args: unknown, options: CallOptions & { timeoutMs: number }): Promise<ResponseMessage> {
    const id = `inv-${nuid.next()}`;
    const signal = options.signal;
    if (signal?.aborted) return ResponseMessage.failure(id, cancelled(id));
    if (this.closed) return ResponseMessage.failure(id, new MeshError(FailureCode.OVERLOADED, 'the client is closing; retry', { retryable: true }));
    const request = { args, timeoutMs: options.timeoutMs, ...(options.key === undefined ? {} : { key: options.key }) };
    const outcome = this.caller.call(task, id, request, this.replyPrefix + id, this.traits.get(task)?.idempotent ?? false);
    const onAbort = (): void => this.caller.abandon(id, cancelled(id));
    signal?.addEventListener('abort', onAbort, { once: true });
    const ended = await outcome;
    signal?.removeEventListener('abort', onAbort);
    return ended.kind === 'reply' ? ended.response : ResponseMessage.failure(id, ended.failure);
  }

  /** Stops serving: calls still waiting are answered OVERLOADED (retryable), subscriptions and the watch end. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweep);
    clearTimeout(this.rewatch);
    this.watch?.stop();
    for (const sub of this.subs) sub.unsubscribe();
    this.caller.abandonAll(new MeshError(FailureCode.OVERLOADED, 'the client is closing; retry', { retryable: true }));
    await Promise.resolve();
  }

  /** The live workers this client knows (as `mesh.workers.list` shows them). */
  workers(): WorkerView[] {
    return this.registry.list(performance.now());
  }

  /** What was counted since the start. */
  stats(): DirectPathCounts & { waiting: number; workers: number } {
    return { ...this.counts, waiting: this.caller.size, workers: this.registry.size };
  }

  private expire(): void {
    for (const worker of this.registry.expire(performance.now())) {
      this.counts.expired += 1;
      this.options.onWarning?.('worker expired', { worker: worker.id, silentMs: Math.round(performance.now() - worker.lastSeenAt) });
      this.caller.workerLost(worker.id);
    }
  }

  /**
   * Watches the tasks bucket (the last offer of every task, then every new one). Resolves once the offers there now
   * are read (or after FIRST_OFFERS_WAIT_MS); a bucket that does not exist yet (no worker ever started) or a broken
   * watch is watched again later.
   */
  private async watchOffers(): Promise<void> {
    let firstRead!: () => void;
    const first = new Promise<void>((resolve) => (firstRead = resolve));
    const again = (): void => {
      firstRead();
      if (this.closed || this.nc.isClosed()) return;
      this.rewatch = setTimeout(() => void this.watchOffers(), REWATCH_MS);
      this.rewatch.unref();
    };
    let kv: KV;
    try {
      kv = await new Kvm(this.nc).open(meshNames(this.options.prefix).tasksBucket);
      if ((await kv.status()).values === 0) firstRead();
      this.watch = await kv.watch({ ignoreDeletes: true });
    } catch {
      again();
      return first;
    }
    const watch = this.watch;
    void (async () => {
      try {
        for await (const entry of watch) {
          if (entry.operation === 'PUT') this.learn(entry.key, entry.value);
          if (entry.delta === 0) firstRead();
        }
      } catch {
        // The watch broke (the connection is closing, or the bucket was removed): it is watched again.
      }
      if (!this.closed) again();
    })();
    const timer = setTimeout(firstRead, FIRST_OFFERS_WAIT_MS);
    await first;
    clearTimeout(timer);
  }

  private learn(key: string, value: Uint8Array): void {
    let offer: TaskOffer;
    try {
      offer = TaskOffer.parse(value);
    } catch (err) {
      this.counts.invalid += 1;
      this.options.onWarning?.('invalid task offer ignored', { task: key, err: err instanceof Error ? err.message : String(err) });
      return;
    }
    if (this.traits.size >= MAX_KNOWN_TASKS && !this.traits.has(offer.task)) return;
    this.traits.set(offer.task, offerTraits(offer));
  }
}

/**
 * A client's smart direct mode, started: it subscribes to NOTIFY and its reply subjects, asks every worker to
 * announce itself, and has read the task offers there are now.
 */
export async function createDirectPath(nc: NatsConnection, options: DirectPathOptions): Promise<SmartDirectPath> {
  const path = new SmartDirectPath(nc, options);
  await path.start();
  return path;
}

function cancelled(id: string): MeshError {
  return new MeshError(FailureCode.CANCELLED, `the caller gave up on direct call ${id} (the worker may still run it)`);
}
