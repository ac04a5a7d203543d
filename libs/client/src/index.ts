// @taskmesh/client: call, submit, wait for and watch tasks on a taskmesh mesh from any Node program (docs/PROTOCOL.md
// is the contract it speaks). Every export is named here so the public surface reads at a glance.

export type {
  MeshConnectOptions,
  CallOptions,
  ListOptions,
  WorkerInfo,
  DeadLetter,
  TaskRef,
  MeshClientApi,
} from './mesh-client.js';
