// The worker side of taskmesh: declare tasks with @Task on Nest providers, import WorkerModule, and the worker
// pulls, validates, runs, records and answers them (see README.md). runWorker is the whole process in one call.
export { runWorker, WorkerAppModule, type RunWorkerOptions } from './run-worker.js';
export { WorkerModule } from './worker.module.js';
export { WorkerService, WORKER_OPTIONS, type WorkerOptions } from './worker.service.js';
export { WorkerConfig } from './worker.config.js';
export {
  Task,
  TASK_METADATA,
  type TaskOptions,
  type TaskDefOptions,
  type TypedTaskHandler,
  type TypedTaskDecorator,
} from './tasks/task.decorator.js';
export type { TaskContext, TaskHandler } from './tasks/task-context.js';
export { TaskRegistry, type RegisteredTask } from './tasks/task-registry.js';
export { Heartbeat, type HeartbeatSettings } from './heartbeat/heartbeat.js';
export { WorkPuller, type PulledMessage, type PullEvents } from './jetstream/work-puller.js';
export { parseAckSubject, type AckInfo } from './jetstream/ack-subject.js';
export { WorkerDispatcher, type WorkerPorts, type StimulusInput } from './dispatcher/worker-dispatcher.js';

// What a worker's code needs from the other packages, so the common case is one import.
export { defineTask, MeshError, FailureCode, type TaskDef, type TaskArgs, type TaskResult } from '@taskmesh/protocol';
export { APP_CONFIG } from '@taskmesh/runtime';
