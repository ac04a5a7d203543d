import { defineTask, type DispatchContext } from '@taskmesh/protocol';
import { ChainArgs, ExclusiveArgs, FailArgs, FanoutArgs, ReportArgs, SleepArgs, SpinArgs } from './demo-args.dto.js';

/** What `sleep`, `report` and `exclusive` return: who ran it, and when. */
export interface RunInfo {
  worker: string;
  startedAt: string;
  finishedAt: string;
  attempt: number;
  invocationId: string;
  /** Set when the scheduler submitted it. */
  dispatch?: DispatchContext;
}

/**
 * The demo tasks' definitions, shared by the stock worker (`@Task(demoTasks.sleep)`) and the callers in this
 * repository (`client.call(demoTasks.sleep, { ms: 100 })`). A caller outside it defines the same with defineTask,
 * as the package tests do: a task's definition is its name, argument type and result type, nothing more.
 */
export const demoTasks = {
  /** Returns its arguments. */
  echo: defineTask<unknown, unknown>('echo'),
  /** Waits `ms` in `steps` steps, emitting progress `{step, steps}` at each; stops at once when cancelled. */
  sleep: defineTask<SleepArgs, RunInfo>('sleep', SleepArgs),
  /** `sleep` declared not idempotent: a direct call whose worker is lost mid-run ends WORKER_LOST. */
  sleepOnce: defineTask<SleepArgs, RunInfo>('sleep-once', SleepArgs),
  /** Answers `{pong, worker}`; declared direct, so a call that names no delivery skips the work queue. */
  ping: defineTask<unknown, { pong: true; worker: string }>('ping', undefined, { delivery: 'direct' }),
  /** One build per report name at a time: later callers share the live one. */
  report: defineTask<ReportArgs, RunInfo & { name: string }>('report', ReportArgs),
  /** One at a time per resource, across all workers. */
  exclusive: defineTask<ExclusiveArgs, RunInfo & { resource: string }>('exclusive', ExclusiveArgs),
  /** `count` child sleeps at once. */
  fanout: defineTask<FanoutArgs, { children: RunInfo[] }>('fanout', FanoutArgs),
  /** Nested child calls, `depth` deep; `cycleTo` closes a loop back to an ancestor (CYCLE_DETECTED). */
  chain: defineTask<ChainArgs, { depth: number; path: string[] }>('chain', ChainArgs),
  /** Fails until attempt `untilAttempt` (then succeeds). */
  fail: defineTask<FailArgs, { attempt: number }>('fail', FailArgs),
  /** Keeps the CPU busy for `ms`. */
  spin: defineTask<SpinArgs, { spunMs: number; worker: string }>('spin', SpinArgs),
} as const;
