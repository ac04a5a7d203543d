import { Injectable } from '@nestjs/common';
import { MeshError, FailureCode } from '@taskmesh/protocol';
import { Task, type TaskContext } from '@taskmesh/worker';
import type { ChainArgs, ExclusiveArgs, FailArgs, FanoutArgs, ReportArgs, SleepArgs, SpinArgs } from './demo-args.dto.js';
import { demoTasks, type RunInfo } from './demo.definitions.js';

/** The demo tasks the README and the tests use (README.md), implementing their definitions (demo.definitions.ts). */
@Injectable()
export class DemoTasks {
  /** Returns its arguments. */
  @Task(demoTasks.echo, { idempotent: true })
  echo(args: unknown): unknown {
    return args;
  }

  /** Waits `ms` in `steps` steps, emitting progress at each; stops at once when cancelled. */
  @Task(demoTasks.sleep, { idempotent: true })
  sleep(args: SleepArgs, ctx: TaskContext): Promise<RunInfo> {
    return sleepFor(args, ctx);
  }

  /**
   * `sleep` declared not idempotent (think of a payment): a direct call whose worker is lost mid-run ends
   * WORKER_LOST instead of running again elsewhere.
   */
  @Task(demoTasks.sleepOnce, { idempotent: false })
  sleepOnce(args: SleepArgs, ctx: TaskContext): Promise<RunInfo> {
    return sleepFor(args, ctx);
  }

  /** Answers `{pong, worker}`; declared direct, so a call that names no delivery skips the work queue. */
  @Task(demoTasks.ping, { idempotent: true })
  ping(_args: unknown, ctx: TaskContext): { pong: true; worker: string } {
    return { pong: true, worker: ctx.workerId };
  }

  /** Registration concurrency by key argument: a call for a name whose report is being built gets that one. */
  @Task(demoTasks.report, { concurrency: { registration: 'keys', keyArgs: ['name'] } })
  async report(args: ReportArgs, ctx: TaskContext): Promise<RunInfo & { name: string }> {
    const startedAt = new Date().toISOString();
    await wait(args.ms, ctx.signal);
    return { ...runInfo(ctx, startedAt), name: args.name };
  }

  /** Running concurrency by key argument: one at a time per resource, on any worker; the others wait slot-free. */
  @Task(demoTasks.exclusive, { concurrency: { running: 'keys', keyArgs: ['resource'] } })
  async exclusive(args: ExclusiveArgs, ctx: TaskContext): Promise<RunInfo & { resource: string }> {
    const startedAt = new Date().toISOString();
    await wait(args.ms, ctx.signal);
    return { ...runInfo(ctx, startedAt), resource: args.resource };
  }

  /** Child calls in parallel: waits for `count` sleeps without holding its slot, so one slot is enough. */
  @Task(demoTasks.fanout)
  async fanout(args: FanoutArgs, ctx: TaskContext): Promise<{ children: RunInfo[] }> {
    const calls = Array.from({ length: args.count }, () => ctx.call(demoTasks.sleep, { ms: args.ms }));
    return { children: await Promise.all(calls) };
  }

  /** Nested child calls, `depth` deep; `cycleTo` closes a loop back to an ancestor (CYCLE_DETECTED). */
  @Task(demoTasks.chain)
  async chain(args: ChainArgs, ctx: TaskContext): Promise<{ depth: number; path: string[] }> {
    if (args.depth > 0) {
      const below = await ctx.call(demoTasks.chain, { ...args, depth: args.depth - 1 });
      return { depth: args.depth, path: [ctx.invocationId, ...below.path] };
    }
    if (args.cycleTo !== undefined) await ctx.call(demoTasks.chain, { depth: args.cycleTo, cycleTo: args.cycleTo });
    return { depth: 0, path: [ctx.invocationId] };
  }

  /** Fails with `message` until attempt `untilAttempt`, then succeeds (forever when no untilAttempt). */
  @Task(demoTasks.fail, { retry: { maxAttempts: 3, backoffMs: 200, maxBackoffMs: 2000 } })
  fail(args: FailArgs, ctx: TaskContext): { attempt: number } {
    if (args.untilAttempt === undefined || ctx.attempt < args.untilAttempt) {
      throw new MeshError(FailureCode.TASK_FAILED, args.message ?? 'failed on purpose', { retryable: args.retryable ?? false, details: { attempt: ctx.attempt } });
    }
    return { attempt: ctx.attempt };
  }

  /** Busy-loops for `ms`: a CPU-bound task that blocks this thread (the heartbeat runs on its own thread). */
  @Task(demoTasks.spin)
  spin(args: SpinArgs, ctx: TaskContext): { spunMs: number; worker: string } {
    const start = performance.now();
    let x = 0;
    while (performance.now() - start < args.ms) x += Math.sqrt(x + 1);
    return { spunMs: Math.round(performance.now() - start), worker: ctx.workerId };
  }
}

function runInfo(ctx: TaskContext, startedAt: string): RunInfo {
  return {
    worker: ctx.workerId, startedAt, finishedAt: new Date().toISOString(), attempt: ctx.attempt, invocationId: ctx.invocationId,
    ...(ctx.dispatch ? { dispatch: ctx.dispatch } : {}),
  };
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

async function sleepFor(args: SleepArgs, ctx: TaskContext): Promise<RunInfo> {
  const startedAt = new Date().toISOString();
  const steps = args.steps ?? 1;
  for (let step = 1; step <= steps; step++) {
    await wait(args.ms / steps, ctx.signal);
    if (steps > 1) ctx.progress({ step, steps });
  }
  return runInfo(ctx, startedAt);
}
