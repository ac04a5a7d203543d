import { IsIn } from 'class-validator';
import { WorkerConfig } from '@taskmesh/worker';

/** The stock worker's environment: the worker's, plus whether it serves the demo tasks. */
export class StockWorkerConfig extends WorkerConfig {
  /**
   * `true`: serve the demo tasks (echo, sleep, spin, fail, chain, ...: apps/worker/src/demo), which the local runner
   * and the tests use. Off by default: `spin` busy-loops up to 10 minutes for any caller, so a production mesh runs
   * workers built from @taskmesh/worker with its own tasks, or this one with the demo only where it is wanted.
   */
  @IsIn(['true', 'false'], { message: 'must be true or false' })
  MESH_DEMO_TASKS: 'true' | 'false' = 'false';
}
