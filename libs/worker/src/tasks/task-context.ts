import type { JsonValue } from '#protocol';

/** What a running task can see and do. */
export interface TaskContext {
  invocationId: string;
  task: string;
  /** 1 for the first run; higher after a lost worker or a retry. */
  attempt: number;
  workerId: string;
  key?: string;
  parentId?: string;
  /** Aborted when the invocation is cancelled, its attempt times out, or the worker is stopping. */
  signal: AbortSignal;
  /** Publishes a progress EVENT on `mesh.events.invocation.<id>`. */
  progress(details: Record<string, JsonValue>): void;
}

/** A task handler as the registry holds it. */
export type TaskHandler = (args: unknown, ctx: TaskContext) => unknown;
