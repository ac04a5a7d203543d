import type { Delivery } from './call-request.js';
import { TASK_NAME_PATTERN } from './limits.js';

/**
 * One task's definition, shared by its callers and its worker: its name, its argument DTO (a class-validator class,
 * checked by the worker) and, as types only, what it takes and returns. `client.call(def, args)` is then typed end
 * to end (a wrong argument type does not compile), and the worker's `@Task(def)` handler must take `Args` and
 * return `Result`.
 *
 * ```ts
 * export class SleepArgs { @IsInt() ms!: number }
 * export const sleepTask = defineTask<SleepArgs, { slept: number }>('sleep', SleepArgs);
 * ```
 */
export interface TaskDef<Args = unknown, Result = unknown> {
  /** The task's name (`mesh.call.<name>`). */
  readonly name: string;
  /** The argument DTO the worker validates `args` against (absent: any JSON). */
  readonly args?: new () => object;
  /** How a call that names no `delivery` is delivered (the worker declares it with the task). */
  readonly delivery?: Delivery;
  /** Types only, never set: the arguments a caller passes and the result it gets. */
  readonly types?: { readonly args: Args; readonly result: Result };
}

/** The argument type of a task definition. */
export type TaskArgs<T> = T extends TaskDef<infer A, unknown> ? A : never;
/** The result type of a task definition. */
export type TaskResult<T> = T extends TaskDef<unknown, infer R> ? R : never;

/** Defines a task shared by caller and worker (see TaskDef). Throws RangeError for a name that is not a task name. */
export function defineTask<Args = unknown, Result = unknown>(
  name: string,
  args?: new () => Args & object,
  options: { delivery?: Delivery } = {},
): TaskDef<Args, Result> {
  if (!TASK_NAME_PATTERN.test(name)) throw new RangeError(`task name ${JSON.stringify(name)} must match ${TASK_NAME_PATTERN}`);
  return Object.freeze({ name, ...(args === undefined ? {} : { args }), ...(options.delivery === undefined ? {} : { delivery: options.delivery }) });
}
