import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { FailureCode, failureOf, MeshError, ResponseMessage, serviceErrorHeaders } from '#protocol';
import { meshReply, type MeshContext, type MeshReply } from '#nats';
import { DispatchesService } from './dispatches.service.js';

/** `mesh.dispatches.<op>` in the scheduler queue group; every error is a RESPONSE with the error headers. */
@Controller()
export class DispatchesController {
  constructor(private readonly dispatches: DispatchesService) {}

  @MessagePattern('dispatchesAll')
  async handle(@Payload() data: Uint8Array, @Ctx() ctx: MeshContext): Promise<MeshReply> {
    const op = ctx.getSubject().split('.').at(-1);
    try {
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
        default:
          throw new MeshError(FailureCode.BAD_REQUEST, `mesh.dispatches.${op} is not an operation (create, update, get, list, delete)`);
      }
    } catch (err) {
      const failure = failureOf(err, FailureCode.INTERNAL);
      return meshReply(ResponseMessage.failure(undefined, failure), serviceErrorHeaders(failure));
    }
  }
}
