import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { MeshHeader } from '@taskmesh/protocol';
import type { MeshContext, MeshReply } from '@taskmesh/nats';
import { CallsService } from './calls.service.js';

/** `mesh.call.<task>` and `mesh.submit.<task>` in the router queue group: replicas share the load. */
@Controller()
export class CallsController {
  constructor(private readonly calls: CallsService) {}

  @MessagePattern('callAll')
  call(@Payload() data: Uint8Array, @Ctx() ctx: MeshContext): Promise<MeshReply> {
    return this.calls.call(ctx.getSubject(), data, ctx.getHeader(MeshHeader.Record));
  }

  @MessagePattern('submitAll')
  submit(@Payload() data: Uint8Array, @Ctx() ctx: MeshContext): Promise<MeshReply> {
    return this.calls.submit(ctx.getSubject(), data, ctx.getHeader(MeshHeader.Record));
  }
}
