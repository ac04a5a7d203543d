import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { FailureCode, MeshError, type CallRequest, type Failure } from '@taskmesh/protocol';
import { DirectCaller, MAX_DIRECT_ATTEMPTS, PICKUP_GRACE_MS } from '@taskmesh/client';
import { MESH_BUS, type MeshBus, type MeshMsg as Msg } from '@taskmesh/nats';
import { counter, METRICS } from '@taskmesh/runtime';
import type { Registry } from 'prom-client';
import { RegistryService } from '../registry/registry.service.js';

export { MAX_DIRECT_ATTEMPTS, PICKUP_GRACE_MS };
/** Answered direct call ids remembered, so a late report from a worker that was given up on is counted as rejected. */
const REMEMBERED_ANSWERS = 10_000;
/** Direct calls one router waits on at once (CallsService also bounds them with its durable ones). */
const MAX_DIRECT_CALLS = 20_000;

/**
 * The router's direct delivery (docs/PROTOCOL.md 4.9): the DirectCaller of @taskmesh/client (placement, the book,
 * timers, fencing; the same one a client's smart mode uses) wired to this router's bus, registry, metrics and logs.
 * The reply subscription is CallsService's, shared with durable calls; it hands direct reports to `onReply`.
 */
@Injectable()
export class DirectService implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger(DirectService.name);
  private readonly caller: DirectCaller<Msg>;

  constructor(
    @Inject(MESH_BUS) bus: MeshBus,
    @Inject(METRICS) metrics: Registry,
    private readonly registry: RegistryService,
  ) {
    const rejected = counter(metrics, 'taskmesh_router_direct_rejected_total', 'Direct reports rejected: from a superseded attempt, or after the call was answered');
    const invalid = counter(metrics, 'taskmesh_invalid_messages_total', 'Inbound messages that failed validation', ['kind']);
    const placedAgain = counter(metrics, 'taskmesh_router_direct_replaced_total', 'Direct calls placed again, by why', ['why']);
    this.caller = new DirectCaller<Msg>({
      send: (topic, data, headers, reply) => bus.publish(topic, data, headers, { reply }),
      place: (task, key, exclude) => registry.placeDirect(task, key, exclude),
      noteSent: (worker) => registry.noteSent(worker),
      rejected: (id, report, why) => {
        rejected.inc();
        this.log.warn({ msg: 'late direct report rejected', invocationId: id, worker: report.worker, attempt: report.attempt, state: report.state, why });
      },
      invalid: (id, err) => {
        invalid.inc({ kind: 'DIRECT_REPORT' });
        this.log.warn({ msg: 'invalid direct report dropped', invocationId: id, err: err instanceof Error ? err.message : String(err) });
      },
      placedAgain: (id, why) => {
        placedAgain.inc({ why });
        if (why === 'worker-lost') this.log.warn({ msg: 'direct call placed again: its worker was lost', invocationId: id });
      },
    }, { maxAttempts: MAX_DIRECT_ATTEMPTS, remember: REMEMBERED_ANSWERS, maxCalls: MAX_DIRECT_CALLS });
  }

  onModuleInit(): void {
    this.registry.onExpired((worker) => this.caller.workerLost(worker));
  }

  onApplicationShutdown(): void {
    this.caller.abandonAll(new MeshError(FailureCode.OVERLOADED, 'router is stopping; retry'));
  }

  /** Direct calls waiting for their outcome. */
  get size(): number {
    return this.caller.size;
  }

  /** Places a direct call; resolves with the worker's final RESPONSE, or a failure (TIMEOUT, WORKER_LOST, OVERLOADED). */
  async call(task: string, id: string, request: CallRequest, replyTo: string): Promise<Msg | Failure> {
    const idempotent = this.registry.traitsOf(task)?.idempotent ?? false;
    const outcome = await this.caller.call(task, id, request, replyTo, idempotent);
    return outcome.kind === 'reply' ? outcome.msg : outcome.failure;
  }

  /** A message on this router's reply subject for `id`. Returns false when it is not about a direct call. */
  onReply(id: string, msg: Msg): boolean {
    return this.caller.onReply(id, msg);
  }
}
