import { plainToInstance } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';
import { InvalidMessageError, TASK_NAME_PATTERN, TaskConcurrency, ValidationFailedError } from '@taskmesh/protocol';
import type { TaskOptions } from './task.decorator.js';
import type { TaskHandler } from './task-context.js';

/** A registered task: its options and bound handler. */
export interface RegisteredTask {
  options: TaskOptions;
  handler: TaskHandler;
  /** The validated concurrency controls (undefined: none). */
  concurrency?: TaskConcurrency;
}

/** The tasks this worker hosts, by name. */
export class TaskRegistry {
  private readonly tasks = new Map<string, RegisteredTask>();

  /** Adds a task; a bad or duplicate name is a programming error and throws at boot. */
  add(options: TaskOptions, handler: TaskHandler): void {
    if (!TASK_NAME_PATTERN.test(options.name)) throw new Error(`@Task name ${JSON.stringify(options.name)} must match ${TASK_NAME_PATTERN}`);
    if (this.tasks.has(options.name)) throw new Error(`@Task ${options.name} is declared twice`);
    if (options.timeoutMs !== undefined && !(Number.isInteger(options.timeoutMs) && options.timeoutMs > 0)) {
      throw new Error(`@Task ${options.name}: timeoutMs must be a positive integer`);
    }
    let concurrency: TaskConcurrency | undefined;
    try {
      concurrency = options.concurrency === undefined ? undefined : TaskConcurrency.create(options.concurrency);
    } catch (err) {
      const problems = err instanceof InvalidMessageError ? err.problems.join('; ') : String(err);
      throw new Error(`@Task ${options.name}: concurrency: ${problems}`, { cause: err });
    }
    this.tasks.set(options.name, { options, handler, ...(concurrency ? { concurrency } : {}) });
  }

  get(name: string): RegisteredTask | undefined {
    return this.tasks.get(name);
  }

  names(): string[] {
    return [...this.tasks.keys()].sort();
  }

  /**
   * Validates `args` against the task's DTO (no DTO: any JSON). Returns the value to hand the handler (a DTO
   * instance when there is one); throws ValidationFailedError listing every problem.
   */
  async prepareArgs(name: string, args: unknown): Promise<unknown> {
    const dto = this.tasks.get(name)?.options.args;
    if (!dto) return args;
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      throw new ValidationFailedError(`${name}: args must be an object`, { problems: ['args: must be an object'] });
    }
    const instance = plainToInstance(dto, args);
    const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
    if (errors.length > 0) {
      const problems = flatten(errors, 'args');
      throw new ValidationFailedError(`${name}: ${problems.join('; ')}`, { problems });
    }
    return instance;
  }
}

function flatten(errors: ValidationError[], path: string): string[] {
  return errors.flatMap((e) => {
    const here = `${path}.${e.property}`;
    const own = Object.values(e.constraints ?? {}).map((c) => `${here}: ${c}`);
    return [...own, ...flatten(e.children ?? [], here)];
  });
}
