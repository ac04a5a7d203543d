import type { Provider } from '@nestjs/common';
import { Kvm } from '@nats-io/kv';
import { KvDispatchStore, MESH_BUS, type MeshBus } from '#nats';

/** Injection token of the scheduler's DispatchStore. */
export const DISPATCH_STORE = Symbol('DISPATCH_STORE');

/** The dispatches bucket (declared by the topology) as a DispatchStore. */
export const dispatchStoreProvider: Provider = {
  provide: DISPATCH_STORE,
  inject: [MESH_BUS],
  useFactory: async (bus: MeshBus) => new KvDispatchStore(await new Kvm(bus.js).open(bus.names.dispatchesBucket)),
};
