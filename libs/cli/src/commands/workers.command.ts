import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { intArgument } from '../arguments.js';
import type { CliContext } from '../cli-context.js';
import { workersTable } from '../format.js';

/** How often `workers --watch` asks, by default. */
export const DEFAULT_WATCH_INTERVAL_MS = 2_000;
/** Clears a terminal and puts the cursor home, so a watch redraws in place. */
const CLEAR_SCREEN = '\x1b[2J\x1b[H';

/** `taskmesh workers`. */
export function registerWorkers(program: Command, ctx: CliContext): void {
  program
    .command('workers')
    .summary('list the live workers (--watch: a live table)')
    .description('List the live workers a router knows: tasks, in-flight and capacity, last heartbeat, uptime, restarts. '
      + 'With --watch the table is redrawn every --interval until Ctrl-C (exit 0); with --json --watch each refresh is '
      + 'one line `{"at", "workers"}`.')
    .option('-w, --watch', 'keep the table live')
    .option('--interval <ms>', `refresh period of --watch (default ${DEFAULT_WATCH_INTERVAL_MS})`, intArgument(100, 3_600_000), DEFAULT_WATCH_INTERVAL_MS)
    .addHelpText('after', `
Examples:
  $ taskmesh workers
  $ taskmesh workers --watch --interval 1000
  $ taskmesh workers --json | jq 'map(.inflight) | add'`)
    .action(async (flags: { watch?: boolean; interval: number }, command: Command) => {
      await ctx.withClient(command, async (client, out) => {
        if (!flags.watch) {
          const workers = await client.workers();
          out.result(workers, () => (workers.length === 0 ? 'no live workers' : workersTable(workers)));
          return;
        }
        const redraw = ctx.deps.stdout.isTTY === true;
        while (!ctx.interrupt.aborted) {
          const workers = await client.workers();
          const at = new Date().toISOString();
          out.item({ at, workers }, () =>
            `${redraw ? CLEAR_SCREEN : ''}${workers.length} live worker${workers.length === 1 ? '' : 's'} at ${at} (every ${flags.interval} ms; Ctrl-C stops)\n${workersTable(workers)}`);
          await sleep(flags.interval, undefined, { signal: ctx.interrupt }).catch(() => undefined);
        }
      });
    });
}
