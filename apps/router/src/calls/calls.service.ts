import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import {
  FailureCode, MeshError, MeshHeader, ResponseMessage, failureOf, nestReply, parseCallBody, serviceErrorHeaders, type CallRequest, type Failure,
} from '@taskmesh/protocol';
import { isStreamFullError, MESH_BUS, uniqueId, type MeshBus, type MeshMsg as Msg } from '@taskmesh/nats';
import { APP_CONFIG, counter, histogram, METRICS } from '@taskmesh/runtime';
import type { Registry } from 'prom-client';
import { meshReply, type MeshReply } from '@taskmesh/nats';
import type { RouterConfig } from '../router.config.js';
import { goesDirect, type CallMode as Mode } from '@taskmesh/client';
import { DirectService } from '../direct/direct.service.js';
import { RegistryService } from '../registry/registry.service.js';
import { OutcomeFollower } from '../outcomes/outcome-follower.js';
import { AdmissionService } from '../admission/admission.service.js';
import { QUEUE_RETRY_MS } from '../admission/admission.js';

/** Most calls one router replica waits on at once; past it, callers get OVERLOADED (every queue has a bound). */
export const MAX_PENDING_CALLS = 20_000;
/**
 * A worker refuses work past its deadline, so a start reported within this after it is the last possible one: the
 * janitor's own grace (apps/orchestrator/src/invocations/sweep.ts) for the same reason.
 */
const START_REPORT_GRACE_MS = 1_000;
/** How often a call past its timeoutMs whose invocation started looks at its record, in case the reply was lost. */
const OVERDUE_RECHECK_MS = 1_000;


interface Pending {
  resolve(reply: Msg | Failure | ResponseMessage): void;
}

/**
 * `mesh.call.<task>`: validates the request, has it admitted (apps/router/src/admission/: dedup, registration,
 * cycles, child links) or sends it direct, places it in the durable work queue, waits for the worker's RESPONSE on
 * this replica's reply subject, and answers the caller (in Nest's format when it came from a ClientProxy). Every
 * failure is a RESPONSE with the error headers.
 */
@Injectable()
export class CallsService implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger(CallsService.name);
  private readonly pending = new Map<string, Pending[]>();
  private readonly routerId: string;
  /** `<p>.reply.<routerId>.`: the subjects this replica's replies arrive on, the invocation id after it. */
  private readonly replyPrefix: string;
  private stopReplies?: () => void;
  private readonly calls;
  private readonly latency;

  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(APP_CONFIG) config: RouterConfig,
    @Inject(METRICS) metrics: Registry,
    private readonly registry: RegistryService,
    private readonly direct: DirectService,
    private readonly outcomes: OutcomeFollower,
    private readonly admission: AdmissionService,
  ) {
    this.routerId = config.MESH_ROUTER_ID ?? `router-${uniqueId().slice(-10)}`;
    this.replyPrefix = this.bus.subjects.reply(this.routerId, 'x').slice(0, -1);
    this.calls = counter(metrics, 'taskmesh_router_calls_total', 'Calls answered, by outcome', ['task', 'outcome']);
    this.latency = histogram(metrics, 'taskmesh_router_call_seconds', 'Call latency from request to answer', ['outcome'], [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1, 5, 30]);
  }

  onModuleInit(): void {
    this.stopReplies = this.bus.subscribe(this.bus.subjects.replyAll(this.routerId), (msg) => this.onReply(msg));
  }

  onApplicationShutdown(): void {
    this.stopReplies?.();
    const failure = failureOf(new MeshError(FailureCode.OVERLOADED, 'router is stopping; retry'));
    for (const waiters of this.pending.values()) for (const w of waiters) w.resolve(failure);
    this.pending.clear();
  }

  /**
   * Answers one `mesh.call.<task>` request: the outcome, or TIMEOUT. `parentRecord`: a child call's parent's first
   * record (its `Mesh-Record` header), for a parent that may not be recorded yet.
   */
  call(subject: string, data: Uint8Array, parentRecord?: string): Promise<MeshReply> {
    return this.handle('call', subject, data, parentRecord);
  }

  /** Answers one `mesh.submit.<task>` request: WAITING once the invocation is durable (queued and recorded). */
  submit(subject: string, data: Uint8Array, parentRecord?: string): Promise<MeshReply> {
    return this.handle('submit', subject, data, parentRecord);
  }

  private async handle(mode: Mode, subject: string, data: Uint8Array, parentRecord: string | undefined): Promise<MeshReply> {
    const started = performance.now();
    const task = this.bus.subjects.taskOf(subject) ?? '';
    let nestId: string | undefined;
    let id: string | undefined;
    let response: ResponseMessage | Msg;
    try {
      const body = parseCallBody(data);
      nestId = body.nest?.id;
      const request = body.request;
      id = request.id ?? `inv-${uniqueId()}`;
      response = await this.accept(mode, task, id, request, parentRecord);
    } catch (err) {
      // Expected refusals (bad request, unknown task, overload) are answers, not errors; anything else is a bug.
      if (!(err instanceof MeshError)) this.log.error({ msg: `${mode} failed`, task, invocationId: id, err: (err as Error)?.message ?? String(err) });
      response = ResponseMessage.failure(id, failureOf(err, FailureCode.INTERNAL));
    }
    const reply = this.toReply(response, nestId);
    const outcome = reply.headers?.[MeshHeader.ServiceErrorCode] ? 'failure' : 'success';
    this.calls.inc({ task: task.slice(0, 64), outcome });
    this.latency.observe({ outcome }, (performance.now() - started) / 1000);
    return reply;
  }

  private async accept(mode: Mode, task: string, id: string, request: CallRequest, parentRecord: string | undefined): Promise<ResponseMessage | Msg> {
    if (!this.registry.knows(task)) {
      throw new MeshError(FailureCode.UNKNOWN_TASK, `no worker offers task ${JSON.stringify(task)}`, { details: { task } });
    }
    if (this.pending.size + this.direct.size >= MAX_PENDING_CALLS) throw new MeshError(FailureCode.OVERLOADED, `router ${this.routerId} is waiting on ${MAX_PENDING_CALLS} calls; retry later`);
    const traits = this.registry.traitsOf(task);
    if (goesDirect(mode, request, traits)) {
      const result = await this.direct.call(task, id, request, this.bus.subjects.reply(this.routerId, id));
      return isFailure(result) ? ResponseMessage.failure(id, result) : result;
    }
    const admitted = await this.admission.admit({ mode, task, id, request, traits, ...(parentRecord === undefined ? {} : { parentRecord }) });
    if (admitted.kind === 'existing') return this.existing(mode, admitted.id, request.timeoutMs);
    const { message, recording } = admitted;
    const hdrs = { ...admitted.headers };
    const outcome = mode === 'call' ? this.wait(id, request.timeoutMs) : undefined;
    if (mode === 'call') hdrs[MeshHeader.ReplyTo] = this.bus.subjects.reply(this.routerId, id);
    try {
      // A keyed invocation goes to its key's shard, which runs one at a time in acceptance order.
      await this.bus.storeRetrying(this.bus.workSubject(task, request.key), JSON.stringify(message), { msgId: id, headers: hdrs, retryForMs: QUEUE_RETRY_MS });
    } catch (err) {
      const failure = failureOf(isStreamFullError(err)
        ? new MeshError(FailureCode.OVERLOADED, 'the work queue is full; retry later', { cause: err })
        : new MeshError(FailureCode.INTERNAL, `could not queue the invocation: ${(err as Error).message}`, { cause: err }));
      this.settle(id, failure);
      if (!outcome) return ResponseMessage.failure(id, failure);
    }
    await recording;
    if (!outcome) return ResponseMessage.waiting(id);
    const result = await outcome;
    return isFailure(result) ? ResponseMessage.failure(id, result) : result;
  }

  /** The same id again: its outcome if final (submit: its current state), else wait for it like a call would. */
  private existing(mode: Mode, id: string, timeoutMs: number): Promise<ResponseMessage> {
    return mode === 'submit' ? this.outcomes.current(id) : this.outcomes.follow(id, timeoutMs);
  }

  /**
   * Waits for the worker's reply. When `timeoutMs` (plus a grace for a start at the deadline to be reported) has
   * passed, the call ends with TIMEOUT only if the invocation never started; one that started is waited for until
   * its outcome (recovery after a worker's loss may take an expiry period), checking its record now and then.
   */
  private wait(id: string, timeoutMs: number): Promise<Msg | Failure | ResponseMessage> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout;
      const overdue = async (): Promise<void> => {
        const progress = await this.outcomes.progress(id).catch(() => ({ kind: 'started' as const }));
        if (progress.kind === 'final') return this.settle(id, progress.response);
        if (progress.kind === 'started') {
          if (this.pending.has(id)) timer = setTimeout(() => void overdue(), OVERDUE_RECHECK_MS);
          return;
        }
        this.settle(id, failureOf(new MeshError(FailureCode.TIMEOUT, `not started within ${timeoutMs} ms; work not started by then never starts (follow mesh.events.invocation.${id})`)));
      };
      timer = setTimeout(() => void overdue(), timeoutMs + START_REPORT_GRACE_MS);
      const waiter: Pending = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const waiters = this.pending.get(id);
      if (waiters) waiters.push(waiter);
      else this.pending.set(id, [waiter]);
    });
  }

  private onReply(msg: Msg): void {
    // A JetStream push consumer delivers a stream's messages to the subscribers of its deliver subject under their
    // original subjects (docs/PROTOCOL.md section 10): only a message on one of our reply subjects is a reply.
    if (!msg.subject.startsWith(this.replyPrefix)) {
      this.log.warn(`dropped a message that reached the reply subscription under another subject: ${msg.subject}`);
      return;
    }
    const id = msg.subject.slice(this.replyPrefix.length);
    // A durable call gets one reply, its outcome; a direct call's reports (RUNNING, outcome) go to its tracker.
    if (this.pending.has(id) || !this.direct.onReply(id, msg)) this.settle(id, msg);
  }

  private settle(id: string, result: Msg | Failure | ResponseMessage): void {
    const waiters = this.pending.get(id);
    if (!waiters) return;
    this.pending.delete(id);
    for (const w of waiters) w.resolve(result);
  }

  /** The worker's RESPONSE goes back as is (bytes and error headers); Nest callers get Nest's reply packet. */
  private toReply(response: ResponseMessage | Msg, nestId: string | undefined): MeshReply {
    if (!(response instanceof ResponseMessage)) {
      if (nestId === undefined) return meshReply(response.data, headersOf(response));
      response = ResponseMessage.parse(response.data);
    }
    const failure = response.failure;
    const headers = failure ? serviceErrorHeaders(failure) : undefined;
    return meshReply(nestId === undefined ? response : nestReply(nestId, response), headers);
  }
}

function isFailure(v: Msg | Failure | ResponseMessage): v is Failure {
  return typeof (v as Failure).code === 'string' && !('data' in v);
}

function headersOf(msg: Msg): Record<string, string> | undefined {
  const code = msg.headers?.get(MeshHeader.ServiceErrorCode);
  if (!code) return undefined;
  return { [MeshHeader.ServiceError]: msg.headers?.get(MeshHeader.ServiceError) ?? '', [MeshHeader.ServiceErrorCode]: code };
}
