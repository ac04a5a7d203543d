import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { errors as natsErrors, type Msg, type NatsConnection } from '@nats-io/transport-node';
import {
  CancelledError,
  DEFAULT_TIMEOUT_MS,
  DispatchOp,
  meshNames,
  InternalError,
  InvalidMessageError,
  InvocationOp,
  isFinalState,
  MAX_TIMEOUT_MS,
  MeshError,
  MeshTimeoutError,
  NotFoundError,
  ResponseState,
  type Subjects,
  type DispatchCreate,
  type DispatchEventMessage,
  type DispatchRecord,
  type DispatchUpcoming,
  type InvocationRecord,
  type InvocationStory,
  type RedriveReply,
  type JsonObject,
  type Recurrence,
  type RequestState,
  type ResponseMessage,
  type TaskDef,
} from '@taskmesh/protocol';
import { callBody, callReplyTimeoutMs, chosenId, deliveryOf, REQUEST_TIMEOUT_MS, taskName } from './call-body.js';
import { clientSettings, connectToMesh } from './connection.js';
import { DEFAULT_CLIENT_PARTS, type DirectPath, type MeshClientParts } from './direct-path.js';
import { followInvocation, orderedEventFeed } from './invocation-events.js';
import {
  failureError, listOf, malformedReply, outcomeOf, readBody, readDeadLetter, readDispatch, readDispatchEvent, readInvocationRecord, readRedriveReply, readResponse, readUpcoming,
  readStoryReply, readWorker, WHOLE,
} from './replies.js';
import { followSubject } from './subject-feed.js';
import type { WorkerView } from './direct/worker-registry.js';
import type { DeadLetterView } from '@taskmesh/protocol';

/**
 * How to reach the mesh. Every field is optional: the defaults reach a local cluster (`npm run cluster`).
 * Authentication: one of user/password, token, a creds file (JWT + nkey) or an nkey seed file.
 */
export interface MeshConnectOptions {
  /** Server URL(s); default `nats://127.0.0.1:4222`. A comma-separated string is split. */
  servers?: string | string[];
  user?: string;
  password?: string;
  token?: string;
  /** Path of a NATS credentials file (JWT + nkey seed). */
  credsFile?: string;
  /** Path of a file holding an nkey seed (`SU...`). */
  nkeySeedFile?: string;
  /** TLS: the CA that signed the server's certificate (PEM file); client certificate and key for mutual TLS. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /**
   * Prefix of this connection's reply inboxes; default `_INBOX`. A mesh with per-role users gives each role its own
   * (`inboxPrefix(role)` in @taskmesh/protocol), so no other role can read its replies.
   */
  inboxPrefix?: string;
  /** Subject prefix of the mesh (`MESH_PREFIX`); default `mesh`. */
  prefix?: string;
  /** Connection name shown by nats-server; default `taskmesh-client`. */
  name?: string;
  /** Default `timeoutMs` of calls; default 30,000 (the mesh's). */
  timeoutMs?: number;
  /**
   * Direct calls (`delivery: 'direct'`, or a task declared direct): `smart` (default) sends them straight to a live
   * worker it learned of from NOTIFY heartbeats, with no router hop; `router` leaves placement to a router.
   */
  direct?: 'smart' | 'router';
  /** How long a silent worker stays live in the smart registry; default 15,000 (`MESH_EXPIRES_AFTER_MS`). */
  expiresAfterMs?: number;
  /** Tries of the first connection; default 1 (fail fast; reconnects after that are unbounded). */
  connectAttempts?: number;
}

/** Options of one call or submit (the call body of docs/PROTOCOL.md 4.1). */
export interface CallOptions {
  /** `durable` (JetStream work queue) or `direct` (straight to a live worker); default: the task's declared one. */
  delivery?: 'durable' | 'direct';
  /** Same key: one at a time, in acceptance order. */
  key?: string;
  /** Caller-chosen invocation id: the same id never runs twice. */
  id?: string;
  /** The call's deadline for a first start, in ms; default the client's `timeoutMs`. */
  timeoutMs?: number;
  /**
   * Aborting stops waiting: the call rejects with CancelledError; a durable invocation is cancelled in the mesh. For
   * that the client chooses the id when none is given (unless the call is direct): the call is then always durable,
   * and the router records it before queueing it (one more write). A direct call is only no longer waited for.
   */
  signal?: AbortSignal;
}

/** Filters of `list` (`mesh.invocations.list`). */
export interface ListOptions {
  task?: string;
  state?: RequestState;
  /** Only invocations with this ordering key. */
  key?: string;
  /** Only invocations created at or after this time (a Date, or ISO 8601). */
  from?: Date | string;
  /** Only invocations created at or before this time (a Date, or ISO 8601). */
  to?: Date | string;
  /** 1 to 1000; default 100. */
  limit?: number;
}

/** A live worker (`mesh.workers.list`): what the router's registry shows (WorkerRegistry.list). */
export type WorkerInfo = WorkerView;

/** A dead letter (`mesh.deadletters.list`); the fields from its headers are absent when the header was. */
export type DeadLetter = DeadLetterView;

/** A dispatch to create (`mesh.dispatches.create`, docs/PROTOCOL.md 4.8): what is not given takes its default. */
export type NewDispatch = Omit<DispatchCreate, 'args' | 'active' | 'dryRun' | 'misfire'> & Partial<Pick<DispatchCreate, 'active' | 'dryRun' | 'misfire'>> & { args?: unknown };

/** Changes to a dispatch (`mesh.dispatches.update`): any create field but `id`; `null` removes an optional one. */
export type DispatchChanges = Partial<Omit<NewDispatch, 'id' | 'key' | 'duration' | 'recurrence' | 'timezone'>> & {
  key?: string | null;
  duration?: number | null;
  recurrence?: Recurrence | null;
  timezone?: string | null;
};

/** What `MeshClient.redrive` puts back: one invocation's newest dead letter, or every dead letter (of one task). */
export type RedriveTarget = { id: string } | { all: true; task?: string };

/** The task to call: its typed definition (defineTask) or its name. */
export type TaskRef<A, R> = TaskDef<A, R> | string;

/**
 * A client of the mesh for plain Node programs (and, through MeshClientModule, Nest apps). Every method speaks the
 * wire contract of docs/PROTOCOL.md; failures reject with the MeshError subclass of their code (`instanceof
 * CycleDetectedError`, `err.code`, `err.retryable`, `err.details`), rebuilt from the reply.
 */
export interface MeshClientApi {
  /** Runs a task and resolves with its result (typed when given a TaskDef). Rejects with the failure's MeshError. */
  call<A, R>(task: TaskDef<A, R>, args: A, options?: CallOptions): Promise<R>;
  call(task: string, args?: unknown, options?: CallOptions): Promise<unknown>;

  /** Accepts a task durably and resolves with its invocation id once the mesh has it (state WAITING). */
  submit<A, R>(task: TaskDef<A, R>, args: A, options?: Omit<CallOptions, 'delivery'>): Promise<string>;
  submit(task: string, args?: unknown, options?: Omit<CallOptions, 'delivery'>): Promise<string>;

  /**
   * Waits for an invocation's outcome: resolves with its result, rejects with its failure's MeshError. When
   * `timeoutMs` (default 30,000) runs out first, rejects with MeshTimeoutError whose `details.state` is the current
   * state (the invocation goes on).
   */
  wait<R = unknown>(id: string, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<R>;

  /** The invocation's record; rejects with NotFoundError when there is none. */
  get(id: string): Promise<InvocationRecord>;

  /** Invocation records, newest first. */
  list(options?: ListOptions): Promise<InvocationRecord[]>;

  /** Cancels an invocation; resolves with its state after the request (final, or RUNNING being stopped). */
  cancel(id: string): Promise<ResponseMessage>;

  /**
   * The invocation's state changes and EVENTs (progress), from its first, as RESPONSE messages; the iteration ends
   * after the final one (SUCCESS or FAILURE), read from the record when only the record has it. Breaking out of the
   * loop, or `signal`, stops it. An id with neither record nor event for 10 s (a direct call has neither) ends it
   * with NotFoundError. An event that does not say when (`at`) carries the time the events stream stored it.
   */
  events(id: string, options?: { signal?: AbortSignal }): AsyncIterableIterator<ResponseMessage>;

  /** The live workers (from a router). */
  workers(): Promise<WorkerInfo[]>;

  /** The newest dead letters. */
  deadLetters(options?: { limit?: number }): Promise<DeadLetter[]>;

  /**
   * Puts dead-lettered work back on the work queue as a new attempt of the same invocation: the invocation `id`'s
   * newest dead letter, or `{ all: true, task? }` every one (of that task). Each dead letter runs once however many
   * redrives race; the reply says which invocations were put back and why the others were skipped. Needs a role
   * allowed to redrive (admin).
   */
  redrive(target: RedriveTarget): Promise<RedriveReply>;

  /**
   * What the worker cores that ran the invocation logged about it (stimuli and instructions), merged by time, with
   * the attempts no live worker remembers listed as `missing`. Rejects with NotFoundError when there is no record.
   */
  story(id: string): Promise<InvocationStory>;

  /** Dispatches (scheduled submits, `mesh.dispatches.*`). */
  readonly dispatches: {
    create(dispatch: NewDispatch): Promise<DispatchRecord>;
    update(id: string, changes: DispatchChanges): Promise<DispatchRecord>;
    get(id: string): Promise<DispatchRecord>;
    list(): Promise<DispatchRecord[]>;
    delete(id: string): Promise<void>;
    /** Each dispatch's next `limit` (default 5, at most 100) occurrences, as the scheduler would fire them; none while inactive. */
    upcoming(options?: { limit?: number }): Promise<DispatchUpcoming[]>;
    /** The dispatch's events as they happen (created, updated, started, stopped, deleted), until aborted. */
    follow(id: string, options?: { signal?: AbortSignal }): AsyncIterableIterator<DispatchEventMessage>;
  };

  /** Drains and closes the connection (in-flight calls are answered or rejected first). */
  close(): Promise<void>;
}

/** After an abort, how long a durable call's cancellation is retried while its record may not be written yet. */
export const CANCEL_RETRY_MS = 3_000;
const CANCEL_RETRY_PAUSE_MS = 200;

/** Which process serves a subject, for the "nobody serves it" message. */
type Service = 'router' | 'orchestrator' | 'scheduler';

/**
 * The taskmesh client: `MeshClient.connect(options)` in a Node program, or injected by MeshClientModule
 * (`@taskmesh/client/nest`) in a Nest app. See MeshClientApi for each method's contract.
 *
 * Errors: every failure of the mesh rejects with the MeshError subclass of its code, rebuilt from the reply
 * (`instanceof CycleDetectedError`, `err.code`, `err.retryable`, `err.details`); when the failure is about an
 * invocation, `err.details.invocationId` names it. A reply that breaks the contract is an InternalError naming the
 * subject and the problems; a request nobody serves is an InternalError (retryable) saying which process is missing;
 * no answer in time is a MeshTimeoutError.
 */
export class MeshClient implements MeshClientApi {
  /** The subject builders of the mesh's prefix. */
  readonly subjects: Subjects;
  /** The default `timeoutMs` of calls. */
  readonly timeoutMs: number;
  readonly dispatches: MeshClientApi['dispatches'];
  private readonly js: JetStreamClient;
  private readonly eventStream: string;
  private readonly cancelling = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;

  /**
   * A client on an open connection. `direct`: the smart direct path (absent: direct calls go through a router);
   * `ownsConnection`: whether `close()` drains the connection (true when `connect` opened it).
   */
  constructor(
    readonly nc: NatsConnection,
    options: MeshConnectOptions = {},
    private readonly parts: { direct?: DirectPath; ownsConnection?: boolean } = {},
  ) {
    const settings = clientSettings(options);
    this.subjects = settings.subjects;
    this.timeoutMs = settings.timeoutMs;
    this.eventStream = meshNames(this.subjects.prefix).eventStream;
    this.js = jetstream(nc);
    this.dispatches = {
      create: (dispatch) => this.dispatchRequest(DispatchOp.Create, dispatch),
      update: (id, changes) => this.dispatchRequest(DispatchOp.Update, { ...changes, id }),
      get: (id) => this.dispatchRequest(DispatchOp.Get, { id }),
      list: async () => {
        const subject = this.subjects.dispatches(DispatchOp.List);
        const reply = await this.request(subject, {}, REQUEST_TIMEOUT_MS, 'scheduler');
        return readBody(subject, reply.data, 'dispatches', listOf('dispatches', readDispatch));
      },
      delete: async (id) => {
        const subject = this.subjects.dispatches(DispatchOp.Delete);
        const reply = await this.request(subject, { id }, REQUEST_TIMEOUT_MS, 'scheduler');
        readBody(subject, reply.data, 'deleted', (v, problems) => {
          if (v !== id) problems.push(`deleted: must be ${JSON.stringify(id)}`);
        });
      },
      upcoming: async (options = {}) => {
        const subject = this.subjects.dispatches(DispatchOp.Upcoming);
        const reply = await this.request(subject, options, REQUEST_TIMEOUT_MS, 'scheduler');
        return readBody(subject, reply.data, 'upcoming', listOf('upcoming', readUpcoming));
      },
      follow: (id, options = {}) => this.followDispatch(id, options.signal),
    };
  }

  /**
   * Connects to the mesh (MeshConnectOptions: servers, authentication, TLS, prefix) and resolves with a client.
   * Rejects with MeshConnectError (`cannot connect to <url>: ...`) after `connectAttempts` tries, or at once when
   * the server refuses the credentials. `parts` are wired by the packages (DEFAULT_CLIENT_PARTS: the smart direct
   * path), not by users; a test may pass its own.
   */
  static async connect(options: MeshConnectOptions = {}, parts: MeshClientParts = DEFAULT_CLIENT_PARTS): Promise<MeshClient> {
    clientSettings(options); // wrong options fail before any connection is opened
    const nc = await connectToMesh(options);
    return MeshClient.build(nc, options, parts, true);
  }

  /** A client on a connection the caller opened and keeps: `close()` leaves it open. */
  static async fromConnection(nc: NatsConnection, options: MeshConnectOptions = {}, parts: MeshClientParts = DEFAULT_CLIENT_PARTS): Promise<MeshClient> {
    return MeshClient.build(nc, options, parts, false);
  }

  private static async build(nc: NatsConnection, options: MeshConnectOptions, parts: MeshClientParts, ownsConnection: boolean): Promise<MeshClient> {
    try {
      const direct = options.direct !== 'router' && parts.direct !== undefined ? await parts.direct(nc, options) : undefined;
      return new MeshClient(nc, options, { ownsConnection, ...(direct === undefined ? {} : { direct }) });
    } catch (err) {
      if (ownsConnection) await nc.close().catch(() => undefined);
      throw err;
    }
  }

  call<A, R>(task: TaskDef<A, R>, args: A, options?: CallOptions): Promise<R>;
  call(task: string, args?: unknown, options?: CallOptions): Promise<unknown>;
  async call(task: TaskRef<unknown, unknown>, args?: unknown, options: CallOptions = {}): Promise<unknown> {
    const name = taskName(task);
    const subject = this.subjects.call(name);
    const delivery = deliveryOf(task, options);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const signal = options.signal;
    if (signal?.aborted === true) throw aborted(`call of ${name}`, {});
    const direct = this.parts.direct;
    const asked = { ...options, timeoutMs, ...(delivery === undefined ? {} : { delivery }) };
    if (direct?.accepts(name, asked) === true) return outcomeOf(subject, await direct.call(name, args, asked));
    const id = chosenId(options, delivery);
    const body = callBody(args, { timeoutMs, ...(id === undefined ? {} : { id }), ...(options.key === undefined ? {} : { key: options.key }), ...(delivery === undefined ? {} : { delivery }) });
    const onAbort = (): MeshError => {
      if (id === undefined) return aborted(`call of ${name}`, { cancelled: false });
      this.cancelInBackground(id);
      return aborted(`call of ${name}`, { invocationId: id, cancelled: true });
    };
    const reply = await this.request(subject, body, callReplyTimeoutMs(timeoutMs), 'router', signal, onAbort, id);
    return outcomeOf(subject, readResponse(subject, reply.data), id);
  }

  submit<A, R>(task: TaskDef<A, R>, args: A, options?: Omit<CallOptions, 'delivery'>): Promise<string>;
  submit(task: string, args?: unknown, options?: Omit<CallOptions, 'delivery'>): Promise<string>;
  async submit(task: TaskRef<unknown, unknown>, args?: unknown, options: Omit<CallOptions, 'delivery'> = {}): Promise<string> {
    const name = taskName(task);
    const subject = this.subjects.submit(name);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    if (options.signal?.aborted === true) throw aborted(`submit of ${name}`, {});
    const id = chosenId(options, 'durable');
    const body = callBody(args, { timeoutMs, ...(id === undefined ? {} : { id }), ...(options.key === undefined ? {} : { key: options.key }) });
    const onAbort = (): MeshError => {
      this.cancelInBackground(id!);
      return aborted(`submit of ${name}`, { invocationId: id!, cancelled: true });
    };
    const reply = await this.request(subject, body, REQUEST_TIMEOUT_MS, 'router', options.signal, onAbort, id);
    const response = readResponse(subject, reply.data);
    if (response.state === ResponseState.FAILURE) throw failureError(response.failure!, response.id ?? id);
    if (response.id === undefined) throw malformedReply(subject, ['id: is required on a submit\'s answer']);
    return response.id;
  }

  async wait<R = unknown>(id: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<R> {
    const subject = this.subjects.invocations(InvocationOp.Wait);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
      throw InvalidMessageError.of('wait request', [`timeoutMs: must be an integer from 1 to ${MAX_TIMEOUT_MS}`]);
    }
    const reply = await this.request(subject, { id, timeoutMs }, timeoutMs + REQUEST_TIMEOUT_MS, 'orchestrator', options.signal,
      () => aborted(`wait for ${id}`, { invocationId: id, cancelled: false }), id);
    const response = readResponse(subject, reply.data);
    if (!isFinalState(response.state)) {
      throw new MeshTimeoutError(`invocation ${id} is still ${response.state} after waiting ${timeoutMs} ms (it goes on)`, {
        details: { invocationId: id, state: response.state },
      });
    }
    return outcomeOf(subject, response, id) as R;
  }

  async get(id: string): Promise<InvocationRecord> {
    const subject = this.subjects.invocations(InvocationOp.Get);
    const reply = await this.request(subject, { id }, REQUEST_TIMEOUT_MS, 'orchestrator', undefined, undefined, id);
    return readBody(subject, reply.data, 'invocation', (v, problems) => readInvocationRecord(v, 'invocation', problems))!;
  }

  async list(options: ListOptions = {}): Promise<InvocationRecord[]> {
    const subject = this.subjects.invocations(InvocationOp.List);
    const iso = (t: Date | string | undefined): string | undefined => (t instanceof Date ? t.toISOString() : t);
    const body = { ...options, ...(options.from === undefined ? {} : { from: iso(options.from) }), ...(options.to === undefined ? {} : { to: iso(options.to) }) };
    const reply = await this.request(subject, body, REQUEST_TIMEOUT_MS, 'orchestrator');
    return readBody(subject, reply.data, 'invocations', listOf('invocations', readInvocationRecord));
  }

  async cancel(id: string): Promise<ResponseMessage> {
    const subject = this.subjects.invocations(InvocationOp.Cancel);
    const reply = await this.request(subject, { id }, REQUEST_TIMEOUT_MS, 'orchestrator', undefined, undefined, id);
    const response = readResponse(subject, reply.data);
    // An error reply carries no id (NOT_FOUND, BAD_REQUEST); a cancelled invocation's FAILURE is an answer.
    if (response.state === ResponseState.FAILURE && response.id === undefined) throw failureError(response.failure!, id);
    return response;
  }

  events(id: string, options: { signal?: AbortSignal } = {}): AsyncIterableIterator<ResponseMessage> {
    return this.followEvents(id, options.signal);
  }

  private async *followEvents(id: string, signal: AbortSignal | undefined): AsyncGenerator<ResponseMessage, void, undefined> {
    const feed = await orderedEventFeed(this.js, this.eventStream, this.subjects.invocationEvent(id));
    yield* followInvocation(id, feed, () => this.recordOrNothing(id), signal === undefined ? {} : { signal });
  }

  async workers(): Promise<WorkerInfo[]> {
    const subject = this.subjects.workersList();
    const reply = await this.request(subject, {}, REQUEST_TIMEOUT_MS, 'router');
    return readBody(subject, reply.data, 'workers', listOf('workers', readWorker));
  }

  async deadLetters(options: { limit?: number } = {}): Promise<DeadLetter[]> {
    const subject = this.subjects.deadLettersList();
    const reply = await this.request(subject, options, REQUEST_TIMEOUT_MS, 'orchestrator');
    return readBody(subject, reply.data, 'deadLetters', listOf('deadLetters', readDeadLetter));
  }

  async redrive(target: RedriveTarget): Promise<RedriveReply> {
    const subject = this.subjects.deadLettersRedrive();
    const reply = await this.request(subject, target, REQUEST_TIMEOUT_MS, 'orchestrator');
    return readBody(subject, reply.data, WHOLE, readRedriveReply);
  }

  async story(id: string): Promise<InvocationStory> {
    const subject = this.subjects.invocations(InvocationOp.Story);
    const reply = await this.request(subject, { id }, REQUEST_TIMEOUT_MS, 'orchestrator');
    return readBody(subject, reply.data, WHOLE, readStoryReply);
  }

  /**
   * Waits for cancellations this client started (aborted calls), closes the direct path and, when the client opened
   * the connection, drains it: calls in flight are answered first. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.cancelling]);
      await this.parts.direct?.close().catch(() => undefined);
      if (this.parts.ownsConnection === true && !this.nc.isClosed()) await this.nc.drain().catch(() => undefined);
    })();
    return this.closing;
  }

  private async dispatchRequest(op: typeof DispatchOp.Create | typeof DispatchOp.Update | typeof DispatchOp.Get, body: object): Promise<DispatchRecord> {
    const subject = this.subjects.dispatches(op);
    const reply = await this.request(subject, body, REQUEST_TIMEOUT_MS, 'scheduler');
    return readBody(subject, reply.data, 'dispatch', (v, problems) => readDispatch(v, 'dispatch', problems))!;
  }

  private followDispatch(id: string, signal: AbortSignal | undefined): AsyncIterableIterator<DispatchEventMessage> {
    const subject = this.subjects.dispatchEvent(id);
    // A malformed event is skipped: anyone may publish on the subject, and the next one may be sound.
    return followSubject(this.nc, subject, (data) => readDispatchEvent(data, []), signal === undefined ? {} : { signal });
  }

  /** The record, or undefined while there is none (NOT_FOUND). */
  private async recordOrNothing(id: string): Promise<InvocationRecord | undefined> {
    try {
      return await this.get(id);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * Cancels an aborted call's invocation. Its record may not be written yet (the router writes it before queueing),
   * so NOT_FOUND is retried for CANCEL_RETRY_MS; anything else is given up (the caller was already answered).
   */
  private cancelInBackground(id: string): void {
    const task = (async () => {
      const until = performance.now() + CANCEL_RETRY_MS;
      for (;;) {
        try {
          await this.cancel(id);
          return;
        } catch (err) {
          if (!(err instanceof NotFoundError) || performance.now() >= until) return;
          await new Promise((resolve) => setTimeout(resolve, CANCEL_RETRY_PAUSE_MS));
        }
      }
    })();
    this.cancelling.add(task);
    void task.finally(() => this.cancelling.delete(task));
  }

  /**
   * One request-reply to the mesh within `timeoutMs`; `signal` rejects with `onAbort()` at once. NATS failures
   * become MeshErrors: no responders -> InternalError (retryable) naming the missing process, no answer in time ->
   * MeshTimeoutError (`details.invocationId` when `id` is known), a closed client -> InternalError.
   */
  private async request(
    subject: string, body: string | object, timeoutMs: number, service: Service,
    signal?: AbortSignal, onAbort?: () => MeshError, id?: string,
  ): Promise<Msg> {
    if (this.closing !== undefined) throw new InternalError('the client is closed', { retryable: false });
    if (signal?.aborted === true) throw (onAbort ?? (() => aborted(subject, {})))();
    const payload = typeof body === 'string' ? body : JSON.stringify(body);
    const sent = this.nc.request(subject, payload, { timeout: timeoutMs }).catch((err: unknown) => {
      throw requestError(err, subject, timeoutMs, service, id);
    });
    if (signal === undefined) return sent;
    let stop: (() => void) | undefined;
    const abortion = new Promise<never>((_, reject) => {
      stop = () => reject((onAbort ?? (() => aborted(subject, {})))());
      signal.addEventListener('abort', stop, { once: true });
    });
    try {
      return await Promise.race([sent, abortion]);
    } finally {
      signal.removeEventListener('abort', stop!);
      sent.catch(() => undefined); // answered after an abort: nobody reads it
    }
  }
}

function aborted(what: string, details: { invocationId?: string; cancelled?: boolean }): CancelledError {
  const effect = details.cancelled === true ? ' (its invocation is being cancelled)' : details.cancelled === false ? ' (the mesh was not asked to cancel anything)' : '';
  return new CancelledError(`${what} aborted by the caller${effect}`, { details });
}

function requestError(err: unknown, subject: string, timeoutMs: number, service: Service, id: string | undefined): MeshError {
  if (err instanceof MeshError) return err;
  const withId: JsonObject = id === undefined ? {} : { invocationId: id };
  const cause = err instanceof natsErrors.RequestError && err.cause !== undefined ? err.cause : err;
  if (isNoResponders(err)) {
    return new InternalError(`nobody serves ${subject}: no ${service} answers (is one running on this server, with this prefix?)`, { retryable: true, cause: err, details: { subject, ...withId } });
  }
  if (cause instanceof natsErrors.TimeoutError) {
    return new MeshTimeoutError(`no answer on ${subject} within ${timeoutMs} ms`, { retryable: true, cause: err, details: { subject, ...withId } });
  }
  if (cause instanceof natsErrors.ClosedConnectionError || cause instanceof natsErrors.DrainingConnectionError) {
    return new InternalError(`the connection is closed: ${subject} was not answered`, { retryable: false, cause: err, details: { subject, ...withId } });
  }
  return new InternalError(`request on ${subject} failed: ${(err as Error)?.message ?? String(err)}`, { retryable: true, cause: err, details: { subject, ...withId } });
}

function isNoResponders(err: unknown): boolean {
  if (err instanceof natsErrors.NoRespondersError) return true;
  return err instanceof natsErrors.RequestError && (err.isNoResponders() || err.cause instanceof natsErrors.NoRespondersError);
}

