import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { FailureCode, failureOf, ResponseMessage, serviceErrorHeaders } from '@taskmesh/protocol';
import { meshReply, type MeshReply } from '@taskmesh/nats';
import { DeadLettersService } from './dead-letters.service.js';

/** `mesh.deadletters.list` and `mesh.deadletters.redrive` in the orchestrator queue group. */
@Controller()
export class DeadLettersController {
  constructor(private readonly deadLetters: DeadLettersService) {}

  @MessagePattern('deadLettersList')
  async list(@Payload() data: Uint8Array): Promise<MeshReply> {
    try {
      return meshReply(await this.deadLetters.list(data));
    } catch (err) {
      const failure = failureOf(err, FailureCode.INTERNAL);
      return meshReply(ResponseMessage.failure(undefined, failure), serviceErrorHeaders(failure));
    }
  }

  @MessagePattern('deadLettersRedrive')
  async redrive(@Payload() data: Uint8Array): Promise<MeshReply> {
    try {
      return meshReply(await this.deadLetters.redrive(data));
    } catch (err) {
      const failure = failureOf(err, FailureCode.INTERNAL);
      return meshReply(ResponseMessage.failure(undefined, failure), serviceErrorHeaders(failure));
    }
  }
}
