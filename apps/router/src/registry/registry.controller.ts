import { Controller } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import type { MeshPatternExtras } from '@taskmesh/nats';
import { RegistryService, workersListReply } from './registry.service.js';

/** Every replica hears every NOTIFY (no queue group), so each keeps a full registry; list is load-shared. */
@Controller()
export class RegistryController {
  constructor(private readonly registry: RegistryService) {}

  @EventPattern('notify', { queue: false } satisfies MeshPatternExtras)
  notify(@Payload() data: Uint8Array): void {
    this.registry.observe(data);
  }

  @MessagePattern('workersList')
  list(): ReturnType<typeof workersListReply> {
    return workersListReply(this.registry.list());
  }
}
