import { Controller, Inject, Logger } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { FailureCode, failureOf, MeshError, ResponseMessage, serviceErrorHeaders } from '@taskmesh/protocol';
import { meshReply, type MeshContext, type MeshReply } from '@taskmesh/nats';
import { counter, METRICS } from '@taskmesh/runtime';
import type { Registry } from 'prom-client';
import { DispatchesService } from './dispatches.service.js';

const OPS: readonly string[] = ['create', 'update', 'get', 'list', 'delete', 'upcoming'];

/**
 * `mesh.dispatches.<op>` in the scheduler queue group; every error is a RESPONSE with the error headers, counted
 * (`taskmesh_scheduler_requests_total{op,code}`) and logged with its subject.
 */
@Controller()
export class DispatchesController {
  private readonly log = new Logger('Dispatches');
  private readonly requests;

  constructor(
    private readonly dispatches: DispatchesService,
    @Inject(METRICS) metrics: Registry,
  ) {
    this.requests = counter(metrics, 'taskmesh_scheduler_requests_total', 'mesh.dispatches.* requests, by operation and outcome code (OK on success)', ['op', 'code']);
  }

  @MessagePattern('dispatchesAll')
  async handle(@Payload() data: Uint8Array, @Ctx() ctx: MeshContext): Promise<MeshReply> {
    const op = ctx.getSubject().split('.').at(-1) ?? '';
    const label = OPS.includes(op) ? op : 'other';
    try {
      const reply = await this.serve(op, data);
      this.requests.inc({ op: label, code: 'OK' });
      return reply;
    } catch (err) {
      const failure = failureOf(err, FailureCode.INTERNAL);
      this.requests.inc({ op: label, code: failure.code });
      const entry = { msg: 'dispatch request refused', subject: ctx.getSubject(), code: failure.code, reason: failure.message };
      if (failure.code === FailureCode.INTERNAL) this.log.error(entry);
      else this.log.warn(entry);
      return meshReply(ResponseMessage.failure(undefined, failure), serviceErrorHeaders(failure));
    }
  }

  private async serve(op: string, data: Uint8Array): Promise<MeshReply> {
    switch (op) {
      case 'create':
        return meshReply(await this.dispatches.create(data));
      case 'update':
        return meshReply(await this.dispatches.update(data));
      case 'get':
        return meshReply(await this.dispatches.get(data));
      case 'list':
        return meshReply(await this.dispatches.list(data));
      case 'delete':
        return meshReply(await this.dispatches.delete(data));
      case 'upcoming':
        return meshReply(await this.dispatches.upcoming(data));
      default:
        throw new MeshError(FailureCode.BAD_REQUEST, `mesh.dispatches.${op} is not an operation (create, update, get, list, delete, upcoming)`);
    }
  }
}
