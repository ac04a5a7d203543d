import { Injectable, type OnModuleInit } from '@nestjs/common';
import { MeshClient } from '@taskmesh/client';
import { HealthRegistry } from '@taskmesh/runtime';

/** `/healthz` of the dashboard: its connection to NATS is open (nats.js reconnects by itself while it is). */
@Injectable()
export class MeshHealth implements OnModuleInit {
  constructor(
    private readonly client: MeshClient,
    private readonly health: HealthRegistry,
  ) {}

  onModuleInit(): void {
    this.health.register('nats', () => (this.client.nc.isClosed() ? { ok: false, detail: 'the NATS connection is closed' } : { ok: true }));
  }
}
