import { Injectable } from '@nestjs/common';
import { MeshError, FailureCode } from '#protocol';
import { Task, type TaskContext } from '#worker';
import { FailArgs, SleepArgs, SpinArgs } from './demo-args.dto.js';

/** The demo tasks the README and the tests use (DESIGN 3.5). */
@Injectable()
export class DemoTasks {
  /** Returns its arguments. */
  @Task({ name: 'echo' })
  echo(args: unknown): unknown {
    return args;
  }

  /** Waits `ms` in `steps` steps, emitting progress at each; stops at once when cancelled. */
  @Task({ name: 'sleep', args: SleepArgs })
  async sleep(args: SleepArgs, ctx: TaskContext): Promise<{ worker: string; startedAt: string; finishedAt: string; attempt: number }> {
    const startedAt = new Date().toISOString();
    const steps = args.steps ?? 1;
    for (let step = 1; step <= steps; step++) {
      await wait(args.ms / steps, ctx.signal);
      if (steps > 1) ctx.progress({ step, steps });
    }
    return { worker: ctx.workerId, startedAt, finishedAt: new Date().toISOString(), attempt: ctx.attempt };
  }

  /** Fails with `message` until attempt `untilAttempt`, then succeeds (forever when no untilAttempt). */
  @Task({ name: 'fail', args: FailArgs, retry: { maxAttempts: 3, backoffMs: 200, maxBackoffMs: 2000 } })
  fail(args: FailArgs, ctx: TaskContext): { attempt: number } {
    if (args.untilAttempt === undefined || ctx.attempt < args.untilAttempt) {
      throw new MeshError(FailureCode.TASK_FAILED, args.message ?? 'failed on purpose', { retryable: args.retryable ?? false, details: { attempt: ctx.attempt } });
    }
    return { attempt: ctx.attempt };
  }

  /** Busy-loops for `ms`: a CPU-bound task that blocks this thread (the heartbeat runs on its own thread). */
  @Task({ name: 'spin', args: SpinArgs })
  spin(args: SpinArgs, ctx: TaskContext): { spunMs: number; worker: string } {
    const start = performance.now();
    let x = 0;
    while (performance.now() - start < args.ms) x += Math.sqrt(x + 1);
    return { spunMs: Math.round(performance.now() - start), worker: ctx.workerId };
  }
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
