import { SetMetadata } from '@nestjs/common';
import type { ConcurrencyScope, Delivery } from '@taskmesh/protocol';
import type { RetryPolicy } from '@taskmesh/worker-core';

/** The metadata key under which @Task stores its options on a provider method. */
export const TASK_METADATA = 'taskmesh:task';

/** How a task is declared (a decorator and an argument DTO per task). */
export interface TaskOptions {
  /** The task's name: callers use `mesh.call.<name>`. Letters, digits, `_` and `-`, at most 64. */
  name: string;
  /** A class-validator DTO for the arguments: args that do not match fail with VALIDATION_FAILED, never run. */
  args?: new () => object;
  /** Longest a single attempt may run before it is aborted and fails with TIMEOUT. */
  timeoutMs?: number;
  /**
   * The task may safely run again after its worker was lost mid-run: a direct call is then re-sent to another
   * worker instead of failing with WORKER_LOST. Default false. (Durable work is redelivered after a loss whatever
   * this says: the durable path is at-least-once.)
   */
  idempotent?: boolean;
  /** How a call that names no `delivery` is delivered: `durable` (default) or `direct`. The call's own wins. */
  delivery?: Delivery;
  /**
   * Retries of a retryable failure (a MeshError with retryable: true): attempts in all, exponential backoff with
   * jitter, capped. No policy: never retried. Non-retryable failures (and VALIDATION_FAILED) are final at once.
   */
  retry?: RetryPolicy;
  /**
   * Concurrency controls (after pynenc). `registration`: a call while an invocation in the same scope is live reuses
   * it (callers get its id and outcome). `running`: one invocation in the same scope runs at a time, the others
   * wait without holding a worker slot. Scopes: `none` (default), `task`, `args` (task + all arguments), `keys`
   * (task + the arguments named in `keyArgs`).
   */
  concurrency?: { registration?: ConcurrencyScope; running?: ConcurrencyScope; keyArgs?: string[] };
}

/** Declares a provider method as a task handler: `(args, ctx: TaskContext) => result | Promise<result>`. */
export const Task = (options: TaskOptions): MethodDecorator => SetMetadata(TASK_METADATA, options);
