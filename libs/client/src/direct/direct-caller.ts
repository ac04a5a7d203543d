import { FailureCode, MeshError, MeshHeader, RequestMessage, ResponseMessage, failureOf, type Failure } from '@taskmesh/protocol';
import { DirectCalls } from './direct-calls.js';
import type { Placeable } from './placement.js';

/** Times one direct call is sent at most (the first placement, then after refusals or lost workers). */
export const MAX_DIRECT_ATTEMPTS = 3;
/**
 * How long past a direct call's deadline the caller waits for the pickup report before it answers TIMEOUT. A
 * worker never starts a request after its deadline, so a RUNNING report sent at the deadline still arrives within
 * this grace, and a call answered TIMEOUT never runs (caller and worker clocks assumed to agree within it).
 */
export const PICKUP_GRACE_MS = 1_000;
/** Answered direct call ids remembered by default, so a late report from a worker given up on is counted as rejected. */
export const DEFAULT_REMEMBERED_ANSWERS = 10_000;

/** The part of a NATS message a direct report is read from (nats.js `Msg` has it). */
export interface ReplyMsg {
  readonly data: Uint8Array;
  /** `code` 503 with no data is nats-server's "no responders". */
  readonly headers?: { readonly code: number };
}

/** What a direct call needs of its request (a router's CallRequest, or a client's call). */
export interface DirectRequest {
  args?: unknown;
  key?: string;
  /** The deadline of its first start, from its acceptance. */
  timeoutMs: number;
}

/** How a direct call ended: the worker's final report, or what the caller decided (TIMEOUT, WORKER_LOST, ...). */
export type DirectOutcome<M extends ReplyMsg> =
  | { kind: 'reply'; msg: M; response: ResponseMessage }
  | { kind: 'failure'; failure: Failure };

/** What DirectCaller reaches outside itself: sends, the live workers, and what it reports (metrics, logs). */
export interface DirectPorts {
  /** Publishes a REQUEST on a worker's topic with `reply` as its reply subject; throws when nothing was sent. */
  send(topic: string, data: string, headers: Record<string, string>, reply: string): void;
  /** The live worker for a direct request of `task` not in `exclude` (placeDirect over the registry), or none. */
  place(task: string, key: string | undefined, exclude: ReadonlySet<string>): Placeable | undefined;
  /** Counts a request sent to `worker` towards its load (WorkerRegistry.noteSent). */
  noteSent(worker: string): void;
  /** A report from a superseded attempt, or after the call was answered: counted and dropped. */
  rejected?(id: string, report: ResponseMessage, why: string): void;
  /** A report that is not a RESPONSE: counted and dropped (the call's timer still runs). */
  invalid?(id: string, err: unknown): void;
  /** The call was sent again, and why (`refused`, `no-responders`, `worker-lost`, `worker-stopped`). */
  placedAgain?(id: string, why: string): void;
}

export interface DirectCallerOptions {
  maxAttempts?: number;
  /** Answered ids remembered (to tell a late report from an unknown one). */
  remember?: number;
  /** Calls waiting at once, at most; past it a call is answered OVERLOADED at once. */
  maxCalls: number;
  pickupGraceMs?: number;
}

interface Waiter<M extends ReplyMsg> {
  request: DirectRequest;
  /** The deadline (epoch ms) the current attempt was sent with: a first start by it, or a recovery's fresh one. */
  deadline: number;
  /** Where workers report: the caller's reply subject for this call. */
  replyTo: string;
  createdAt: string;
  timer?: NodeJS.Timeout;
  resolve(outcome: DirectOutcome<M>): void;
}

/**
 * Direct delivery (docs/PROTOCOL.md 4.9; taskflow's worker-based protocol, no JetStream on the path), the one shell
 * both a router and a client in smart mode place direct calls with: it sends a call to a live worker's topic (least
 * loaded, or the key's rendezvous owner), tracks it WAITING -> PENDING -> RUNNING -> final with the pure DirectCalls
 * book (fenced by attempt and worker), keeps its one timer, and resolves with the outcome. A call no worker started by
 * its deadline is answered TIMEOUT; a call whose worker expires (`workerLost`) is placed again when its task is
 * idempotent, else answered WORKER_LOST; a refusal before the start (a full or stopping worker) is placed on another
 * worker. Its owner feeds it what arrives on its reply subjects (`onReply`) and the workers it expires.
 */
export class DirectCaller<M extends ReplyMsg = ReplyMsg> {
  private readonly book: DirectCalls;
  private readonly waiters = new Map<string, Waiter<M>>();
  private readonly maxCalls: number;
  private readonly pickupGraceMs: number;

  constructor(private readonly ports: DirectPorts, options: DirectCallerOptions) {
    this.book = new DirectCalls({ maxAttempts: options.maxAttempts ?? MAX_DIRECT_ATTEMPTS, remember: options.remember ?? DEFAULT_REMEMBERED_ANSWERS });
    this.maxCalls = options.maxCalls;
    this.pickupGraceMs = options.pickupGraceMs ?? PICKUP_GRACE_MS;
  }

  /** Direct calls waiting for their outcome. */
  get size(): number {
    return this.book.size;
  }

  /** Places a direct call; resolves with the worker's final RESPONSE, or a failure (TIMEOUT, WORKER_LOST, OVERLOADED). */
  call(task: string, id: string, request: DirectRequest, replyTo: string, idempotent: boolean): Promise<DirectOutcome<M>> {
    if (this.book.size >= this.maxCalls) {
      return Promise.resolve({ kind: 'failure', failure: failureOf(new MeshError(FailureCode.OVERLOADED, `${this.maxCalls} direct calls are waiting here (the bound); retry later`)) });
    }
    if (this.book.get(id) !== undefined) {
      return Promise.resolve({ kind: 'failure', failure: failureOf(new MeshError(FailureCode.BAD_REQUEST, `direct call ${id} is already waiting`)) });
    }
    this.book.open(id, task, request.key, idempotent);
    return new Promise((resolve) => {
      const now = Date.now();
      this.waiters.set(id, { request, replyTo, createdAt: new Date(now).toISOString(), deadline: now + request.timeoutMs, resolve });
      this.place(id);
    });
  }

  /** A message on the reply subject of `id`. Returns false when it is not about a direct call of this caller. */
  onReply(id: string, msg: M): boolean {
    if (msg.headers?.code === 503 && msg.data.length === 0 && this.book.get(id) !== undefined) {
      // nats-server's "no responders": the worker's topic has no subscriber any more (stopped, or dead and not yet
      // expired). Nothing ran: place the call elsewhere at once instead of waiting out its deadline.
      if (this.book.unheard(id)) this.again(id, 'its worker no longer listens', undefined, 'no-responders');
      return true;
    }
    let report: ResponseMessage;
    try {
      report = ResponseMessage.parse(msg.data);
    } catch (err) {
      // Validated at the edge: a report that is not a RESPONSE is counted and dropped (the call's timer still runs).
      if (this.book.get(id) === undefined) return false;
      this.ports.invalid?.(id, err);
      return true;
    }
    const verdict = this.book.report(id, { state: report.state, attempt: report.attempt, worker: report.worker, code: report.failure?.code });
    switch (verdict.kind) {
      case 'unknown':
        return false;
      case 'rejected':
        this.ports.rejected?.(id, report, verdict.why);
        return true;
      case 'running': {
        // Started: the deadline no longer applies (it bounds the start); the run gets timeoutMs to finish.
        const waiter = this.waiters.get(id);
        if (waiter) this.arm(id, waiter.request.timeoutMs, () => `${waiter.request.timeoutMs} ms passed since it started without an outcome`);
        return true;
      }
      case 'refused':
        this.again(id, `refused by ${report.worker ?? 'its worker'}: ${report.failure?.message ?? ''}`, report.failure, 'refused');
        return true;
      case 'lost':
        this.recover(id, 'worker-stopped');
        return true;
      case 'final':
        this.answer(id, { kind: 'reply', msg, response: report });
        return true;
    }
  }

  /** A worker expired: its idempotent calls are placed again, the others answered WORKER_LOST. */
  workerLost(worker: string): void {
    const { again, lost } = this.book.workerLost(worker);
    for (const call of lost) {
      const why = call.idempotent ? `it was sent ${call.attempt} times` : `${call.task} is not declared idempotent`;
      this.fail(call.id, new MeshError(FailureCode.WORKER_LOST, `worker ${worker} was lost while it held this call (${call.state}); ${why}, so it is not run again`, { details: { worker, attempt: call.attempt } }));
    }
    for (const call of again) this.recover(call.id, 'worker-lost');
  }

  /** Answers a waiting call with `error` now (its caller gave up, or the process stops); a later report is rejected. */
  abandon(id: string, error: MeshError): void {
    this.fail(id, error);
  }

  /** Answers every waiting call with `error` (the process stops). */
  abandonAll(error: MeshError): void {
    for (const id of [...this.waiters.keys()]) this.fail(id, error);
  }

  /** Recovery, not a first start: the next attempt gets a fresh deadline. */
  private recover(id: string, why: string): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    waiter.deadline = Date.now() + waiter.request.timeoutMs;
    this.place(id, undefined, why);
  }

  /** Places the call (again, after a refusal) on a worker it was not sent to yet, or answers why it cannot. */
  private again(id: string, why: string, refusal: Failure | undefined, reason: string): void {
    const call = this.book.get(id);
    if (!call) return;
    if (!this.book.canRetry(id)) {
      this.answer(id, { kind: 'failure', failure: refusal ?? failureOf(new MeshError(FailureCode.OVERLOADED, `no worker took the call after ${call.attempt} attempts; last: ${why}`)) });
      return;
    }
    this.place(id, refusal, reason);
  }

  /** Sends the call to a worker it was not sent to yet; `again` says why when it is not the first send. */
  private place(id: string, refusal?: Failure, again?: string): void {
    const call = this.book.get(id);
    const waiter = this.waiters.get(id);
    if (!call || !waiter) return;
    const worker = this.ports.place(call.task, call.key, call.tried);
    if (!worker) {
      const none = call.tried.size === 0 ? `no live worker offers ${call.task} now` : `no other live worker offers ${call.task} (tried ${[...call.tried].join(', ')})`;
      this.answer(id, { kind: 'failure', failure: refusal ?? failureOf(new MeshError(FailureCode.OVERLOADED, `${none}; retry, or call it durable`, { details: { task: call.task } })) });
      return;
    }
    const attempt = this.book.placed(id, worker.id);
    this.ports.noteSent(worker.id);
    try {
      const message = RequestMessage.create({ id, task: call.task, args: waiter.request.args, key: call.key, deadline: waiter.deadline, createdAt: waiter.createdAt });
      this.ports.send(worker.topic, JSON.stringify(message), { [MeshHeader.Attempt]: String(attempt) }, waiter.replyTo);
    } catch (err) {
      // Too large with the REQUEST's own fields, or the connection is closing: nothing was sent.
      this.fail(id, new MeshError(FailureCode.INTERNAL, `could not send the call to worker ${worker.id}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    if (again !== undefined) this.ports.placedAgain?.(id, again);
    this.arm(id, Math.max(0, waiter.deadline - Date.now()) + this.pickupGraceMs, () => `no worker started it before its deadline (${waiter.request.timeoutMs} ms); it will never start`);
  }

  /** (Re)sets the call's one timer: when it fires, the call is answered TIMEOUT. */
  private arm(id: string, ms: number, why: () => string): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    clearTimeout(waiter.timer);
    waiter.timer = setTimeout(() => this.fail(id, new MeshError(FailureCode.TIMEOUT, why(), { details: { delivery: 'direct' } })), ms);
  }

  private fail(id: string, error: MeshError): void {
    this.answer(id, { kind: 'failure', failure: failureOf(error) });
  }

  private answer(id: string, outcome: DirectOutcome<M>): void {
    const waiter = this.waiters.get(id);
    this.waiters.delete(id);
    this.book.close(id);
    if (!waiter) return;
    clearTimeout(waiter.timer);
    waiter.resolve(outcome);
  }
}
