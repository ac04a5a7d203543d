import { Controller, Inject, Logger } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { DispatchOp, FailureCode, failureOf, MeshError, ResponseMessage, serviceErrorHeaders } from '#protocol';
import { meshReply, type MeshContext, type MeshReply } from '#nats';
import { counter, METRICS } from '#runtime';
import type { Registry } from 'prom-client';
import { DispatchesService } from './dispatches.service.js';

/** `mesh.dispatches.<op>` in the scheduler queue group; every error is a FAILURE RESPONSE with the error headers. */
@Controller()
export class DispatchesController {
  private readonly log = new Logger('Dispatches');
  private readonly requests;

  constructor(
    private readonly dispatches: DispatchesService,
    @Inject(METRICS) metrics: Registry,
  ) {
    this.requests = counter(metrics, 'taskmesh_scheduler_requests_total', 'mesh.dispatches.* requests by operation and outcome code', ['op', 'code']);
  }

  @MessagePattern('dispatchesAll')
  async handle(@Payload() data: Uint8Array, @Ctx() ctx: MeshContext): Promise<MeshReply> {
    const op = ctx.getSubject().split('.').at(-1) ?? '';
    try {
      const reply = await this.serve(op, data);
      this.requests.inc({ op, code: 'OK' });
      return meshReply(reply);
    } catch (err) {
      const failure = failureOf(err, FailureCode.INTERNAL);
      this.requests.inc({ op: isOp(op) ? op : 'other', code: failure.code });
      if (failure.code === FailureCode.INTERNAL) this.log.error({ msg: 'dispatch request failed', op, err: String(err) });
      else this.log.warn({ msg: 'dispatch request refused', op, subject: ctx.getSubject(), code: failure.code, reason: failure.message });
      return meshReply(ResponseMessage.failure(undefined, failure), serviceErrorHeaders(failure));
    }
  }

  private serve(op: string, data: Uint8Array): Promise<unknown> {
    switch (op) {
      case DispatchOp.Create:
        return this.dispatches.create(data);
      case DispatchOp.Update:
        return this.dispatches.update(data);
      case DispatchOp.Get:
        return this.dispatches.get(data);
      case DispatchOp.List:
        return this.dispatches.list(data);
      case DispatchOp.Delete:
        return this.dispatches.delete(data);
      default:
        throw new MeshError(FailureCode.BAD_REQUEST, `mesh.dispatches.${op} is not an operation (create, update, get, list, delete)`);
    }
  }
}

function isOp(op: string): boolean {
  return (Object.values(DispatchOp) as string[]).includes(op);
}
