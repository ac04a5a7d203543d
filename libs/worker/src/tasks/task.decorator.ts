import { SetMetadata } from '@nestjs/common';
import type { ConcurrencyScope, Delivery, TaskDef } from '@taskmesh/protocol';
import type { RetryPolicy } from '@taskmesh/worker-core';
import type { TaskContext } from './task-context.js';

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

/**
 * What `@Task(def, options)` adds to a task definition: everything but what the definition already says (its name,
 * its argument DTO and its delivery, which callers read from the same definition).
 */
export type TaskDefOptions = Omit<TaskOptions, 'name' | 'args' | 'delivery'>;

/** A handler that implements a task of arguments `A` and result `R`. */
export type TypedTaskHandler<A, R> = (args: A, ctx: TaskContext) => R | Promise<R>;

/**
 * The decorator `@Task(def)` returns. The handler's type is checked against the definition's: its descriptor is
 * compared with a function type (not a method), so its parameter is checked contravariantly: a handler that does
 * not take `A`, or does not return `R` or a Promise of it, fails to compile.
 */
export type TypedTaskDecorator<A, R> = (target: object, key: string | symbol, descriptor: { value?: TypedTaskHandler<A, R> }) => void;

/**
 * Declares a provider method as a task handler: `(args, ctx: TaskContext) => result | Promise<result>`.
 * `@Task(def, options?)` implements a definition shared with callers (`defineTask`), typed end to end;
 * `@Task({ name, args, ... })` declares one by its options alone.
 */
export function Task(options: TaskOptions & { types?: never }): MethodDecorator;
export function Task<A, R>(def: TaskDef<A, R>, options?: TaskDefOptions): TypedTaskDecorator<A, R>;
export function Task(first: TaskOptions | TaskDef, options: TaskDefOptions = {}): MethodDecorator {
  // A definition holds only name, args and delivery (its `types` exist for the compiler alone); they win over options.
  const declared: TaskOptions = { ...options, ...first };
  return SetMetadata(TASK_METADATA, declared);
}
