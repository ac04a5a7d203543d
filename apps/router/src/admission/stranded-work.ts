import { Inject, Injectable, Logger } from '@nestjs/common';
import { argsDigest, invocationProgress, RequestMessage, RequestState, type CallRequest, type InvocationRecord, type ResponseMessage } from '@taskmesh/protocol';
import { MESH_BUS, retrying, type MeshBus } from '@taskmesh/nats';
import { APP_CONFIG } from '@taskmesh/runtime';
import type { RouterConfig } from '../router.config.js';
import { QUEUE_RETRY_MS } from './admission.js';

/**
 * Whether a repeated caller-chosen id's work should be queued again (see StrandedWork): it never started (per its
 * record and its last event), its deadline has not passed, it was created less than `withinMs` before `now`, the
 * repeat carries the same arguments, and it has no registration claim (which may be missing too). Pure.
 */
export function isStranded(record: InvocationRecord | undefined, last: ResponseMessage | undefined, request: CallRequest, now: number, withinMs: number): record is InvocationRecord & { deadline: number } {
  if (!record || invocationProgress(record, last).kind !== 'waiting' || record.state !== RequestState.WAITING) return false;
  if (record.registration !== undefined || record.deadline === undefined || now > record.deadline) return false;
  return now - Date.parse(record.createdAt) < withinMs && record.argsDigest === argsDigest(request.args);
}

/**
 * Work whose record was created but whose REQUEST may never have reached the work queue: the router that accepted
 * it was killed between the two (a caller-chosen id is recorded first, then queued). The caller's repeat of the id
 * queues it again, under the same `Nats-Msg-Id`, so JetStream drops the copy if the first one did arrive. That holds
 * only inside the server's duplicate window (`MESH_DEDUP_WINDOW_MS`): an older record is left as it is (it ends
 * TIMEOUT at its deadline if it really was never queued).
 */
@Injectable()
export class StrandedWork {
  private readonly log = new Logger(StrandedWork.name);
  /** Half the duplicate window: the first publish (just after the record was created) is surely still remembered. */
  private readonly requeueWithinMs: number;

  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(APP_CONFIG) config: RouterConfig,
  ) {
    this.requeueWithinMs = config.MESH_DEDUP_WINDOW_MS / 2;
  }

  /**
   * Queues invocation `id` again if it is stranded (isStranded). Never throws: the repeat is answered by following
   * the invocation either way. A check that fails (a read or the publish timing out while a clustered stream elects a
   * leader) is tried again until QUEUE_RETRY_MS has passed: this repeat may be the only chance to queue the work.
   */
  async requeue(id: string, request: CallRequest): Promise<void> {
    const giveUpAt = Date.now() + QUEUE_RETRY_MS;
    try {
      await retrying(() => this.requeueOnce(id, request, giveUpAt), { forMs: QUEUE_RETRY_MS, retryable: () => true, firstPauseMs: 250, maxPauseMs: 2_000 });
    } catch (err) {
      this.log.warn({ msg: 'could not check a repeated invocation for stranded work', invocationId: id, err: String(err) });
    }
  }

  private async requeueOnce(id: string, request: CallRequest, giveUpAt: number): Promise<void> {
    const [stored, last] = await Promise.all([this.bus.invocations.get(id), this.bus.events.last(id)]);
    const record = stored?.record;
    if (!isStranded(record, last, request, Date.now(), this.requeueWithinMs)) return;
    const message = RequestMessage.create({
      id, task: record.task, args: request.args, key: record.key, deadline: record.deadline, createdAt: record.createdAt,
      parentId: record.parentId, chain: request.chain, dispatch: request.dispatch,
    });
    const subject = this.bus.workSubject(record.task, record.key);
    const ack = await this.bus.storeRetrying(subject, JSON.stringify(message), { msgId: id, retryForMs: Math.max(0, giveUpAt - Date.now()) });
    if (!ack.duplicate) this.log.warn({ msg: 'queued work its accepting router never queued', invocationId: id, task: record.task });
  }
}
