import type { DispatchContext, JsonValue, TaskDef } from '@taskmesh/protocol';
import type { ChildCallOptions } from '../dispatcher/worker-dispatcher.js';

/** What a running task can see and do. */
export interface TaskContext {
  invocationId: string;
  task: string;
  /** 1 for the first run; higher after a lost worker or a retry. */
  attempt: number;
  workerId: string;
  key?: string;
  /** The invocation that called this one (`ctx.call`), if any. */
  parentId?: string;
  /** Set when the scheduler submitted it: which occurrence of which dispatch this is. */
  dispatch?: DispatchContext;
  /** Aborted when the invocation is cancelled, its attempt times out, or the worker is stopping. */
  signal: AbortSignal;
  /** Publishes a progress EVENT on `mesh.events.invocation.<id>`. */
  progress(details: Record<string, JsonValue>): void;
  /**
   * Calls another task as a child of this invocation and resolves its result (rejects with its failure as a
   * MeshError). While it waits, this invocation holds no worker slot. Calling a task with the same arguments as
   * an invocation up the chain fails at once with CYCLE_DETECTED. The child's id is derived from this
   * invocation's id and the call's order, so when this task runs again (its worker was lost) it gets the same
   * children and their outcomes: make the calls in a deterministic order, or pass `opts.id`. Given a task's
   * definition (defineTask), its arguments and result are typed.
   */
  call<A, R>(task: TaskDef<A, R>, args: A, opts?: ChildCallOptions): Promise<R>;
  call<T = unknown>(task: string, args?: unknown, opts?: ChildCallOptions): Promise<T>;
}

/** A task handler as the registry holds it. */
export type TaskHandler = (args: unknown, ctx: TaskContext) => unknown;
