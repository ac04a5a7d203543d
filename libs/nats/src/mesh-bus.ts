import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Payload } from '@nats-io/transport-node';
import { keyShard, meshNames, Subjects, type MeshNames } from '@taskmesh/protocol';
import { KvCancellations, type Cancellations } from './cancellations.js';
import { KvConcurrencyClaims, type ConcurrencyClaims } from './claims.js';
import { KvDispatchStore } from './dispatch-store.js';
import { KvLease } from './lease.js';
import { JsmStreamMessages, type ConsumedMessage, type ConsumedMessages, type Consumption, type KeyWatch, type MeshMsg, type StreamMessages } from './mesh-ports.js';
import { StreamInvocationEvents, type InvocationEvents } from './invocation-events.js';
import { KvInvocationStore, type InvocationStore } from './invocation-store.js';
import { StoredPublisher, type PubAck } from './stored-publisher.js';
import { KvTaskCatalog, type TaskCatalog } from './task-catalog.js';
import {
  applyInvocationBounds, ensureExhaustedConsumer, ensureKeyedConsumers, ensureRecorderConsumer, ensureTaskConsumer, resolveLimits,
  type Declared, type DeclareOutcome, type InvocationBounds, type TopologyLimits,
} from './topology/index.js';

/** Injection token of the app's MeshBus (provided by NatsModule). */
export const MESH_BUS = Symbol('MESH_BUS');

/**
 * How long each pull of a long-running consumption waits. nats.js sends idle heartbeats at half of it and pulls
 * again after two are missed, which is how a consumption notices that the pull it had open died with a clustered
 * consumer's leader: with nats.js's default (30 s) the records would lag half a minute behind a leader's loss.
 */
const CONSUME_EXPIRES_MS = 5_000;

/** Header name -> value. */
export type MeshHeaders = Record<string, string>;

/**
 * The one NATS connection of a process and what the apps need on it: subject builders, JetStream names and
 * clients, the tasks catalog, and every NATS operation the apps use. Apps go through these methods only (never
 * `nc`, `js`, `jsm`, which are for libs and tests; eslint keeps it so): NATS stays a detail of libs/nats.
 */
export interface MeshBus {
  readonly subjects: Subjects;
  readonly names: MeshNames;
  /** The topology limits this process was configured with (ack wait, max deliver...). */
  readonly limits: TopologyLimits;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly tasks: TaskCatalog;
  /** The invocation records. */
  readonly invocations: InvocationStore;
  /** The reported events of invocations, read back from the events stream. */
  readonly events: InvocationEvents;
  /** Cancelled invocation ids. */
  readonly cancellations: Cancellations;
  /** Concurrency claims (registration and running concurrency). */
  readonly claims: ConcurrencyClaims;
  /** Core NATS publish (fire and forget; a forbidden subject only shows on `nc.status()`), optionally with a reply subject. */
  publish(subject: string, data?: Payload, headers?: MeshHeaders, opts?: { reply?: string }): void;
  /**
   * JetStream publish: resolves once the stream that captures `subject` has stored it (rejects with JetStream's
   * refusal, e.g. a full stream, or on timeout). `msgId` is the dedup id (`Nats-Msg-Id`).
   */
  store(subject: string, data: Uint8Array | string, opts?: { headers?: MeshHeaders; msgId?: string; timeoutMs?: number }): Promise<PubAck>;
  /**
   * `store`, sent again while its fate is unknown (no acknowledgement, no stream leader) until stored or
   * `retryForMs` has passed: a clustered stream electing a new leader does not lose what was accepted. With `msgId`
   * it is stored once; without, perhaps twice (StoredPublisher.publishRetrying says when that is fine).
   */
  storeRetrying(subject: string, data: Uint8Array | string, opts: { headers?: MeshHeaders; msgId?: string; retryForMs: number }): Promise<PubAck>;
  /** Core NATS request-reply with a deadline (rejects on timeout or no responders). */
  request(subject: string, data: Payload, opts: { timeoutMs: number; headers?: MeshHeaders }): Promise<Msg>;
  /**
   * Core NATS scatter-gather: publishes one request and collects the replies until `maxReplies`, `stallMs` without a
   * new one (after the first), or `maxWaitMs` in all. No responders, or none in time, gives no replies.
   */
  gather(subject: string, data: Payload, opts: { maxWaitMs: number; stallMs: number; maxReplies: number }): Promise<Msg[]>;
  /** Creates or converges the durable pull consumer of `task` with this process's limits. */
  ensureTaskConsumer(task: string): Promise<Declared>;
  /** Creates or converges the consumer of every key shard (`limits.keyShards` of them). */
  ensureKeyedConsumers(): Promise<Declared[]>;
  /** Where durable work of `task` is queued: its task's subject, or with a `key` its key's shard (ordered). */
  workSubject(task: string, key?: string): string;
  /** Drains subscriptions and pending publishes, then closes the connection. Idempotent. */
  drain(): Promise<void>;
  /** Whether the connection is closed for good (drained, or failed past its reconnects). */
  isClosed(): boolean;
  /** Whether the connection is open and has heard from a server (its INFO). */
  isConnected(): boolean;
  /** Core NATS subscription: `callback` gets every message on `subject` until the returned unsubscribe is called. */
  subscribe(subject: string, callback: (msg: MeshMsg) => void): () => void;
  /** Resolves once the server has processed everything sent before (a new subscription included). */
  flush(): Promise<void>;
  /** Messages of the mesh's streams (work, dead letters), read and removed by sequence. */
  readonly streams: StreamMessages;
  /** JetStream publish of a dead letter of `task` (the dead-letter stream): resolves once it is stored. */
  storeDeadLetter(task: string, data: Uint8Array, headers: MeshHeaders): Promise<PubAck>;
  /** Creates or converges the recorder's consumer of the events stream, then consumes it: `callback` per message. */
  consumeRecorderEvents(maxMessages: number, callback: (m: ConsumedMessage) => void): Promise<Consumption>;
  /** Creates or converges the consumer of max-deliveries advisories, then consumes it as an iterator. */
  consumeExhaustedAdvisories(maxMessages: number): Promise<ConsumedMessages>;
  /** Watches the invocation record of `id` (the invocations bucket), from its current value on. */
  watchInvocation(id: string): Promise<KeyWatch>;
  /** Sets the count and byte bounds of the invocations bucket (see applyInvocationBounds). */
  applyInvocationBounds(bounds: InvocationBounds): Promise<DeclareOutcome | 'deferred'>;
  /** Opens the dispatches bucket (scheduled dispatches). */
  openDispatchStore(): Promise<KvDispatchStore>;
  /** Opens the lease `name` of the leases bucket. */
  openLease(name: string): Promise<KvLease>;
}

/** Options of `createMeshBus`. */
export interface MeshBusOptions {
  /** Subject prefix (MESH_PREFIX), default `mesh`. */
  prefix?: string;
  limits?: Partial<TopologyLimits>;
}

/**
 * Wraps a connection as a MeshBus. The topology must exist (declareMeshTopology) before `tasks` is used:
 * binding the bucket does not create it.
 */
export async function createMeshBus(nc: NatsConnection, opts: MeshBusOptions = {}): Promise<MeshBus> {
  const subjects = new Subjects(opts.prefix);
  const names = meshNames(subjects.prefix);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const kvm = new Kvm(js);
  const tasks = new KvTaskCatalog(await kvm.open(names.tasksBucket));
  const stored = new StoredPublisher(nc);
  const invocations = new KvInvocationStore(await kvm.open(names.invocationsBucket), stored);
  const cancellations = new KvCancellations(await kvm.open(names.cancelledBucket));
  const claims = new KvConcurrencyClaims(await kvm.open(names.claimsBucket));
  const events = new StreamInvocationEvents(jsm, names.eventStream, subjects);
  return new NatsMeshBus(nc, js, jsm, stored, tasks, invocations, events, cancellations, claims, subjects, names, resolveLimits(opts.limits));
}

class NatsMeshBus implements MeshBus {
  private drained?: Promise<void>;
  readonly streams: StreamMessages;

  constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    private readonly stored: StoredPublisher,
    readonly tasks: TaskCatalog,
    readonly invocations: InvocationStore,
    readonly events: InvocationEvents,
    readonly cancellations: Cancellations,
    readonly claims: ConcurrencyClaims,
    readonly subjects: Subjects,
    readonly names: MeshNames,
    readonly limits: TopologyLimits,
  ) {
    this.streams = new JsmStreamMessages(jsm);
  }

  publish(subject: string, data?: Payload, headers?: MeshHeaders, opts: { reply?: string } = {}): void {
    if (headers === undefined && opts.reply === undefined) return this.nc.publish(subject, data);
    this.nc.publish(subject, data, { ...(headers ? { headers: toHeaders(headers) } : {}), ...(opts.reply === undefined ? {} : { reply: opts.reply }) });
  }

  store(subject: string, data: Uint8Array | string, opts: { headers?: MeshHeaders; msgId?: string; timeoutMs?: number } = {}): Promise<PubAck> {
    return this.stored.publish(subject, data, opts);
  }

  storeRetrying(subject: string, data: Uint8Array | string, opts: { headers?: MeshHeaders; msgId?: string; retryForMs: number }): Promise<PubAck> {
    return this.stored.publishRetrying(subject, data, opts);
  }

  request(subject: string, data: Payload, opts: { timeoutMs: number; headers?: MeshHeaders }): Promise<Msg> {
    return this.nc.request(subject, data, { timeout: opts.timeoutMs, headers: opts.headers ? toHeaders(opts.headers) : undefined });
  }

  async gather(subject: string, data: Payload, opts: { maxWaitMs: number; stallMs: number; maxReplies: number }): Promise<Msg[]> {
    const replies: Msg[] = [];
    try {
      const it = await this.nc.requestMany(subject, data, { strategy: 'stall', stall: opts.stallMs, maxWait: opts.maxWaitMs, maxMessages: opts.maxReplies });
      for await (const m of it) {
        // A no-responders status (503, no data) ends it empty.
        if (m.data.length === 0 && m.headers?.code) break;
        replies.push(m);
        if (replies.length >= opts.maxReplies) break;
      }
    } catch {
      // No responders or a timeout: what came is what there is.
    }
    return replies;
  }

  ensureTaskConsumer(task: string): Promise<Declared> {
    return ensureTaskConsumer(this.jsm, this.subjects.prefix, task, this.limits);
  }

  ensureKeyedConsumers(): Promise<Declared[]> {
    return ensureKeyedConsumers(this.jsm, this.subjects.prefix, this.limits);
  }

  workSubject(task: string, key?: string): string {
    return key === undefined ? this.subjects.work(task) : this.subjects.keyedWork(task, keyShard(key, this.limits.keyShards));
  }

  drain(): Promise<void> {
    if (this.nc.isClosed()) return Promise.resolve();
    this.drained ??= this.nc.drain();
    return this.drained;
  }

  isClosed(): boolean {
    return this.nc.isClosed();
  }

  isConnected(): boolean {
    return !this.nc.isClosed() && this.nc.info !== undefined;
  }

  subscribe(subject: string, callback: (msg: MeshMsg) => void): () => void {
    const sub = this.nc.subscribe(subject, { callback: (_err, msg) => callback(msg) });
    return () => sub.unsubscribe();
  }

  flush(): Promise<void> {
    return this.nc.flush();
  }

  storeDeadLetter(task: string, data: Uint8Array, headers: MeshHeaders): Promise<PubAck> {
    return this.js.publish(this.subjects.deadLetter(task), data, { headers: toHeaders(headers) });
  }

  async consumeRecorderEvents(maxMessages: number, callback: (m: ConsumedMessage) => void): Promise<Consumption> {
    await ensureRecorderConsumer(this.jsm, this.subjects.prefix);
    const consumer = await this.js.consumers.get(this.names.eventStream, this.names.recorderConsumer);
    return consumer.consume({ max_messages: maxMessages, expires: CONSUME_EXPIRES_MS, callback });
  }

  async consumeExhaustedAdvisories(maxMessages: number): Promise<ConsumedMessages> {
    await ensureExhaustedConsumer(this.jsm, this.subjects.prefix);
    const consumer = await this.js.consumers.get(this.names.exhaustedStream, this.names.exhaustedConsumer);
    return consumer.consume({ max_messages: maxMessages, expires: CONSUME_EXPIRES_MS });
  }

  async watchInvocation(id: string): Promise<KeyWatch> {
    const kv = await new Kvm(this.js).open(this.names.invocationsBucket);
    return kv.watch({ key: id });
  }

  applyInvocationBounds(bounds: InvocationBounds): Promise<DeclareOutcome | 'deferred'> {
    return applyInvocationBounds(this.jsm, this.subjects.prefix, bounds);
  }

  async openDispatchStore(): Promise<KvDispatchStore> {
    return new KvDispatchStore(await new Kvm(this.js).open(this.names.dispatchesBucket));
  }

  async openLease(name: string): Promise<KvLease> {
    return new KvLease(await new Kvm(this.js).open(this.names.leasesBucket), name);
  }
}

function toHeaders(h: MeshHeaders): MsgHdrs {
  const out = natsHeaders();
  for (const [k, v] of Object.entries(h)) out.set(k, v);
  return out;
}
