import 'reflect-metadata';
import { IsInt } from 'class-validator';
import { defineTask } from '@taskmesh/protocol';
import { Task, TASK_METADATA, type TaskOptions } from './task.decorator.js';
import type { TaskContext } from './task-context.js';

class SleepArgs {
  @IsInt() ms!: number;
}
interface Slept {
  slept: number;
}
const sleepTask = defineTask<SleepArgs, Slept>('sleep', SleepArgs);
const pingTask = defineTask<unknown, string>('ping', undefined, { delivery: 'direct' });

class Tasks {
  @Task(sleepTask, { timeoutMs: 5000, idempotent: true, retry: { maxAttempts: 3, backoffMs: 10, maxBackoffMs: 100 } })
  async sleep(args: SleepArgs, _ctx: TaskContext): Promise<Slept> {
    return { slept: args.ms };
  }

  @Task(pingTask)
  ping(): string {
    return 'pong';
  }

  @Task({ name: 'legacy', args: SleepArgs, timeoutMs: 10, delivery: 'direct' })
  legacy(args: SleepArgs): number {
    return args.ms;
  }
}

// Each line below must fail to compile (`npm run typecheck` fails if one stops failing).
export class WrongHandlers {
  // @ts-expect-error the handler does not take the definition's Args
  @Task(sleepTask) takesString(args: string): Slept {
    return { slept: args.length };
  }

  // @ts-expect-error the handler returns something else than the definition's Result
  @Task(sleepTask) returnsString(args: SleepArgs): string {
    return String(args.ms);
  }

  // @ts-expect-error a Promise of something else is not the definition's Result either
  @Task(sleepTask) async resolvesString(args: SleepArgs): Promise<string> {
    return String(args.ms);
  }

  // @ts-expect-error the definition names the task: options cannot rename it
  @Task(sleepTask, { name: 'other' }) renamed(args: SleepArgs): Slept {
    return { slept: args.ms };
  }
}

/** Inside a handler, a child call given a definition is typed the same way. */
export async function childCall(ctx: TaskContext): Promise<Slept> {
  // @ts-expect-error a child call's arguments are the definition's Args
  await ctx.call(sleepTask, { ms: 'soon' });
  return ctx.call(sleepTask, { ms: 1 });
}

const metadataOf = (method: keyof Tasks): TaskOptions | undefined =>
  Reflect.getMetadata(TASK_METADATA, Tasks.prototype[method]) as TaskOptions | undefined;

describe(Task.name, () => {
  it('stores a definition\'s name and argument DTO with the options given beside it', () => {
    expect(metadataOf('sleep')).toEqual({
      name: 'sleep', args: SleepArgs, timeoutMs: 5000, idempotent: true, retry: { maxAttempts: 3, backoffMs: 10, maxBackoffMs: 100 },
    });
  });

  it('takes the delivery a definition declares, so callers and the worker read the same one', () => {
    expect(metadataOf('ping')).toEqual({ name: 'ping', delivery: 'direct' });
  });

  it('stores options written out as they are', () => {
    expect(metadataOf('legacy')).toEqual({ name: 'legacy', args: SleepArgs, timeoutMs: 10, delivery: 'direct' });
  });

  it('leaves no type-only field of the definition in the metadata', () => {
    expect(Object.keys(metadataOf('sleep') ?? {})).not.toContain('types');
  });
});
