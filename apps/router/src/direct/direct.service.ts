import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { FailureCode, MeshError, MeshHeader, RequestMessage, ResponseMessage, failureOf, type CallRequest, type Failure } from '@taskmesh/protocol';
import { MESH_BUS, type MeshBus, type MeshMsg as Msg } from '@taskmesh/nats';
import { counter, METRICS } from '@taskmesh/runtime';
import type { Registry } from 'prom-client';
import { RegistryService } from '../registry/registry.service.js';
import { DirectCalls } from './direct-calls.js';

/** Times one direct call is sent at most (the first placement, then after refusals or lost workers). */
export const MAX_DIRECT_ATTEMPTS = 3;
/**
 * How long past a direct call's deadline the router waits for the pickup report before it answers TIMEOUT. A
 * worker never starts a request after its deadline, so a RUNNING report sent at the deadline still arrives within
 * this grace, and a call answered TIMEOUT never runs (router and worker clocks assumed to agree within it).
 */
export const PICKUP_GRACE_MS = 1_000;
/** Answered direct call ids remembered, so a late report from a worker that was given up on is counted as rejected. */
const REMEMBERED_ANSWERS = 10_000;

interface Waiter {
  request: CallRequest;
  /** The deadline (epoch ms) the current attempt was sent with: a first start by it, or a recovery's fresh one. */
  deadline: number;
  /** Where workers report: the router's reply subject for this call. */
  replyTo: string;
  createdAt: string;
  timer?: NodeJS.Timeout;
  resolve(outcome: Msg | Failure): void;
}

/**
 * Direct delivery (taskflow's worker-based protocol, no JetStream on the path): places a call on a live worker's
 * topic (least loaded, or the key's rendezvous owner), tracks it WAITING -> PENDING -> RUNNING -> final with the
 * pure DirectCalls book, and answers the caller with the worker's outcome. A call no worker started by its deadline
 * is answered TIMEOUT; a call whose worker expires is placed again when its task is idempotent, else answered
 * WORKER_LOST; a refusal before the start (a full or stopping worker) is placed on another worker.
 */
@Injectable()
export class DirectService implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger(DirectService.name);
  private readonly book = new DirectCalls({ maxAttempts: MAX_DIRECT_ATTEMPTS, remember: REMEMBERED_ANSWERS });
  private readonly waiters = new Map<string, Waiter>();
  private readonly rejected;
  private readonly placedAgain;
  private readonly invalid;

  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(METRICS) metrics: Registry,
    private readonly registry: RegistryService,
  ) {
    this.rejected = counter(metrics, 'taskmesh_router_direct_rejected_total', 'Direct reports rejected: from a superseded attempt, or after the call was answered');
    this.invalid = counter(metrics, 'taskmesh_invalid_messages_total', 'Inbound messages that failed validation', ['kind']);
    this.placedAgain = counter(metrics, 'taskmesh_router_direct_replaced_total', 'Direct calls placed again, by why', ['why']);
  }

  onModuleInit(): void {
    this.registry.onExpired((worker) => this.workerLost(worker));
  }

  onApplicationShutdown(): void {
    const failure = failureOf(new MeshError(FailureCode.OVERLOADED, 'router is stopping; retry'));
    for (const id of [...this.waiters.keys()]) this.answer(id, failure);
  }

  /** Direct calls waiting for their outcome. */
  get size(): number {
    return this.book.size;
  }

  /** Places a direct call; resolves with the worker's final RESPONSE, or a failure (TIMEOUT, WORKER_LOST, OVERLOADED). */
  call(task: string, id: string, request: CallRequest, replyTo: string): Promise<Msg | Failure> {
    const idempotent = this.registry.traitsOf(task)?.idempotent ?? false;
    this.book.open(id, task, request.key, idempotent);
    return new Promise((resolve) => {
      const now = Date.now();
      this.waiters.set(id, { request, replyTo, createdAt: new Date(now).toISOString(), deadline: now + request.timeoutMs, resolve });
      this.place(id);
    });
  }

  /** A message on this router's reply subject for `id`. Returns false when it is not about a direct call. */
  onReply(id: string, msg: Msg): boolean {
    if (this.book.get(id) !== undefined && msg.headers?.code === 503 && msg.data.length === 0) {
      // nats-server's "no responders": the worker's topic has no subscriber any more (stopped, or dead and not yet
      // expired). Nothing ran: place the call elsewhere at once instead of waiting out its deadline.
      if (this.book.unheard(id)) {
        this.again(id, 'its worker no longer listens', undefined, 'no-responders');
      }
      return true;
    }
    let report: ResponseMessage;
    try {
      report = ResponseMessage.parse(msg.data);
    } catch (err) {
      // Validated at the edge: a report that is not a RESPONSE is counted and dropped (the call's timer still runs).
      if (this.book.get(id) === undefined) return false;
      this.invalid.inc({ kind: 'DIRECT_REPORT' });
      this.log.warn({ msg: 'invalid direct report dropped', invocationId: id, err: err instanceof Error ? err.message : String(err) });
      return true;
    }
    const verdict = this.book.report(id, { state: report.state, attempt: report.attempt, worker: report.worker, code: report.failure?.code });
    switch (verdict.kind) {
      case 'unknown':
        return false;
      case 'rejected':
        this.rejected.inc();
        this.log.warn({ msg: 'late direct report rejected', invocationId: id, worker: report.worker, attempt: report.attempt, state: report.state, why: verdict.why });
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
        this.answer(id, msg);
        return true;
    }
  }

  /** A worker expired: its idempotent calls are placed again, the others answered WORKER_LOST. */
  private workerLost(worker: string): void {
    const { again, lost } = this.book.workerLost(worker);
    for (const call of lost) {
      const why = call.idempotent ? `it was sent ${call.attempt} times` : `${call.task} is not declared idempotent`;
      this.answer(call.id, failureOf(new MeshError(FailureCode.WORKER_LOST, `worker ${worker} was lost while it held this call (${call.state}); ${why}, so it is not run again`, { details: { worker, attempt: call.attempt } })));
    }
    for (const call of again) {
      this.log.warn({ msg: 'direct call placed again: its worker was lost', invocationId: call.id, worker, attempt: call.attempt });
      this.recover(call.id, 'worker-lost');
    }
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
      this.answer(id, refusal ?? failureOf(new MeshError(FailureCode.OVERLOADED, `no worker took the call after ${call.attempt} attempts; last: ${why}`)));
      return;
    }
    this.place(id, refusal, reason);
  }

  /** Sends the call to a worker it was not sent to yet; `again` says why when it is not the first send (counted). */
  private place(id: string, refusal?: Failure, again?: string): void {
    const call = this.book.get(id);
    const waiter = this.waiters.get(id);
    if (!call || !waiter) return;
    const worker = this.registry.placeDirect(call.task, call.key, call.tried);
    if (!worker) {
      const none = call.tried.size === 0 ? `no live worker offers ${call.task} now` : `no other live worker offers ${call.task} (tried ${[...call.tried].join(', ')})`;
      this.answer(id, refusal ?? failureOf(new MeshError(FailureCode.OVERLOADED, `${none}; retry, or call it durable`, { details: { task: call.task } })));
      return;
    }
    const attempt = this.book.placed(id, worker.id);
    this.registry.noteSent(worker.id);
    try {
      const message = RequestMessage.create({ id, task: call.task, args: waiter.request.args, key: call.key, deadline: waiter.deadline, createdAt: waiter.createdAt });
      this.bus.publish(worker.topic, JSON.stringify(message), { [MeshHeader.Attempt]: String(attempt) }, { reply: waiter.replyTo });
    } catch (err) {
      // Too large with the REQUEST's own fields, or the connection is closing: nothing was sent.
      this.answer(id, failureOf(new MeshError(FailureCode.INTERNAL, `could not send the call to worker ${worker.id}: ${(err as Error).message}`, { cause: err })));
      return;
    }
    if (again !== undefined) this.placedAgain.inc({ why: again });
    this.arm(id, Math.max(0, waiter.deadline - Date.now()) + PICKUP_GRACE_MS, () => `no worker started it before its deadline (${waiter.request.timeoutMs} ms); it will never start`);
  }

  /** (Re)sets the call's one timer: when it fires, the call is answered TIMEOUT. */
  private arm(id: string, ms: number, why: () => string): void {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    clearTimeout(waiter.timer);
    waiter.timer = setTimeout(() => this.answer(id, failureOf(new MeshError(FailureCode.TIMEOUT, why(), { details: { delivery: 'direct' } }))), ms);
  }

  private answer(id: string, outcome: Msg | Failure): void {
    const waiter = this.waiters.get(id);
    this.waiters.delete(id);
    this.book.close(id);
    if (!waiter) return;
    clearTimeout(waiter.timer);
    waiter.resolve(outcome);
  }
}
