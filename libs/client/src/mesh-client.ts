import type {
  DispatchCreate,
  DispatchEventMessage,
  DispatchRecord,
  DispatchUpdate,
  InvocationRecord,
  RequestState,
  ResponseMessage,
  TaskDef,
} from '@taskmesh/protocol';

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
  /** Aborting stops waiting: the call rejects with CancelledError; a durable invocation is cancelled in the mesh. */
  signal?: AbortSignal;
}

/** Filters of `list` (`mesh.invocations.list`). */
export interface ListOptions {
  task?: string;
  state?: RequestState;
  /** 1 to 1000; default 100. */
  limit?: number;
}

/** A live worker (`mesh.workers.list`). */
export interface WorkerInfo {
  id: string;
  topic: string;
  tasks: string[];
  capacity: number;
  inflight: number;
  seq: number;
  lastSeenMs: number;
  uptimeMs: number;
  restarts: number;
}

/** A dead letter (`mesh.deadletters.list`). */
export interface DeadLetter {
  seq: number;
  task: string;
  reason: string;
  fromStream: string;
  fromSeq: number;
  deliveries: number;
  at: string;
  body: unknown;
}

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
   * after the final one (SUCCESS or FAILURE). Breaking out of the loop, or `signal`, stops it.
   */
  events(id: string, options?: { signal?: AbortSignal }): AsyncIterableIterator<ResponseMessage>;

  /** The live workers (from a router). */
  workers(): Promise<WorkerInfo[]>;

  /** The newest dead letters. */
  deadLetters(options?: { limit?: number }): Promise<DeadLetter[]>;

  /** Dispatches (scheduled submits, `mesh.dispatches.*`). */
  readonly dispatches: {
    create(dispatch: Omit<DispatchCreate, 'args'> & { args?: unknown }): Promise<DispatchRecord>;
    update(id: string, changes: DispatchUpdate): Promise<DispatchRecord>;
    get(id: string): Promise<DispatchRecord>;
    list(): Promise<DispatchRecord[]>;
    delete(id: string): Promise<void>;
    /** The dispatch's events as they happen (created, updated, started, stopped, deleted), until aborted. */
    follow(id: string, options?: { signal?: AbortSignal }): AsyncIterableIterator<DispatchEventMessage>;
  };

  /** Drains and closes the connection (in-flight calls are answered or rejected first). */
  close(): Promise<void>;
}
