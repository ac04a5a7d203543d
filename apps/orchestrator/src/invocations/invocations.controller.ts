import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { FailureCode, failureOf, MeshError, ResponseMessage, serviceErrorHeaders } from '@taskmesh/protocol';
import { meshReply, type MeshContext, type MeshReply } from '@taskmesh/nats';
import { InvocationsService } from './invocations.service.js';

/** `mesh.invocations.<op>` in the orchestrator queue group; every error is a RESPONSE with the error headers. */
@Controller()
export class InvocationsController {
  constructor(private readonly invocations: InvocationsService) {}

  @MessagePattern('invocationsAll')
  async handle(@Payload() data: Uint8Array, @Ctx() ctx: MeshContext): Promise<MeshReply> {
    const op = ctx.getSubject().split('.').at(-1);
    try {
      switch (op) {
        case 'get':
          return meshReply(await this.invocations.get(data));
        case 'list':
          return meshReply(await this.invocations.list(data));
        case 'story':
          return meshReply(await this.invocations.story(data));
        case 'wait':
        case 'cancel': {
          const response = op === 'wait' ? await this.invocations.wait(data) : await this.invocations.cancel(data);
          return meshReply(response, response.failure ? serviceErrorHeaders(response.failure) : undefined);
        }
        default:
          throw new MeshError(FailureCode.BAD_REQUEST, `mesh.invocations.${op} is not an operation (get, list, wait, cancel, story)`);
      }
    } catch (err) {
      const failure = failureOf(err, FailureCode.INTERNAL);
      return meshReply(ResponseMessage.failure(undefined, failure), serviceErrorHeaders(failure));
    }
  }
}
