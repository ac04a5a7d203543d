import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Payload } from '@nats-io/transport-node';
import { keyShard, Subjects } from '#protocol';
import { KvCancellations, type Cancellations } from './cancellations.js';
import { KvConcurrencyClaims, type ConcurrencyClaims } from './claims.js';
import { StreamInvocationEvents, type InvocationEvents } from './invocation-events.js';
import { KvInvocationStore, type InvocationStore } from './invocation-store.js';
import { StoredPublisher, type PubAck } from './stored-publisher.js';
import { KvTaskCatalog, type TaskCatalog } from './task-catalog.js';
import { ensureKeyedConsumers, ensureTaskConsumer, meshNames, resolveLimits, type Declared, type MeshNames, type TopologyLimits } from './topology.js';

/** Injection token of the app's MeshBus (provided by NatsModule). */
export const MESH_BUS = Symbol('MESH_BUS');

/** Header name -> value. */
export type MeshHeaders = Record<string, string>;

/**
 * The one NATS connection of a process and what the apps need on it: subject builders, JetStream names and
 * clients, the tasks catalog. Thin on purpose: apps use `nc` / `js` directly for anything not here.
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
  /** Core NATS request-reply with a deadline (rejects on timeout or no responders). */
  request(subject: string, data: Payload, opts: { timeoutMs: number; headers?: MeshHeaders }): Promise<Msg>;
  /** Creates or converges the durable pull consumer of `task` with this process's limits. */
  ensureTaskConsumer(task: string): Promise<Declared>;
  /** Creates or converges the consumer of every key shard (`limits.keyShards` of them). */
  ensureKeyedConsumers(): Promise<Declared[]>;
  /** Where durable work of `task` is queued: its task's subject, or with a `key` its key's shard (ordered). */
  workSubject(task: string, key?: string): string;
  /** Drains subscriptions and pending publishes, then closes the connection. Idempotent. */
  drain(): Promise<void>;
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
  ) {}

  publish(subject: string, data?: Payload, headers?: MeshHeaders, opts: { reply?: string } = {}): void {
    if (headers === undefined && opts.reply === undefined) return this.nc.publish(subject, data);
    this.nc.publish(subject, data, { ...(headers ? { headers: toHeaders(headers) } : {}), ...(opts.reply === undefined ? {} : { reply: opts.reply }) });
  }

  store(subject: string, data: Uint8Array | string, opts: { headers?: MeshHeaders; msgId?: string; timeoutMs?: number } = {}): Promise<PubAck> {
    return this.stored.publish(subject, data, opts);
  }

  request(subject: string, data: Payload, opts: { timeoutMs: number; headers?: MeshHeaders }): Promise<Msg> {
    return this.nc.request(subject, data, { timeout: opts.timeoutMs, headers: opts.headers ? toHeaders(opts.headers) : undefined });
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
}

function toHeaders(h: MeshHeaders): MsgHdrs {
  const out = natsHeaders();
  for (const [k, v] of Object.entries(h)) out.set(k, v);
  return out;
}
