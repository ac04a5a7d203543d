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

// Direct calls (docs/PROTOCOL.md 4.9): the pure cores and the one shell a router and a smart client both place them
// with, and the client's smart direct mode.
export type { DirectPath } from './direct-path.js';
export { createDirectPath, SmartDirectPath, DEFAULT_MAX_DIRECT_CALLS, type DirectPathOptions, type DirectPathCounts } from './direct/smart-direct-path.js';
export {
  DirectCaller,
  MAX_DIRECT_ATTEMPTS,
  PICKUP_GRACE_MS,
  DEFAULT_REMEMBERED_ANSWERS,
  type DirectCallerOptions,
  type DirectOutcome,
  type DirectPorts,
  type DirectRequest,
  type ReplyMsg,
} from './direct/direct-caller.js';
export { DirectCalls, type DirectCall, type DirectReport, type Verdict as DirectVerdict } from './direct/direct-calls.js';
export { goesDirect, type CallMode } from './direct/goes-direct.js';
export { placeDirect, type Placeable } from './direct/placement.js';
export { offerTraits, type TaskTraits } from './direct/task-traits.js';
export { WorkerRegistry, type WorkerBeat, type WorkerEntry, type WorkerView } from './direct/worker-registry.js';
