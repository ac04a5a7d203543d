import type { Provider } from '@nestjs/common';
import { MESH_BUS, type MeshBus } from '@taskmesh/nats';

/** Injection token of the scheduler's DispatchStore. */
export const DISPATCH_STORE = Symbol('DISPATCH_STORE');

/** The dispatches bucket (declared by the topology) as a DispatchStore. */
export const dispatchStoreProvider: Provider = {
  provide: DISPATCH_STORE,
  inject: [MESH_BUS],
  useFactory: (bus: MeshBus) => bus.openDispatchStore(),
};
