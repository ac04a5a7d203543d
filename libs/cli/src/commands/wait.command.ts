import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { EXIT_INTERRUPTED, EXIT_STILL_RUNNING, FAILURE_EXIT_CODES, InterruptedError, isStillRunning, meshFailureOf } from '../exit-codes.js';
import { responseLine } from '../format.js';
import { awaitOutcome } from '../invocation-outcome.js';
import { ProgressView } from '../progress-view.js';
import { pretty } from './call.command.js';

/** `taskmesh wait` and `taskmesh events`. */
export function registerWait(program: Command, ctx: CliContext): void {
  program
    .command('wait')
    .summary('wait for an invocation\'s outcome and print it')
    .description('Wait for an invocation\'s outcome and print its result (exit 0) or its failure (exit status by failure code). '
      + 'It waits until the outcome; --timeout bounds the wait: then it prints the current state and exits 75, and the '
      + 'invocation goes on. On a terminal a progress bar follows its progress events. Ctrl-C stops waiting (exit 130); '
      + 'the invocation goes on (`taskmesh cancel <id>` stops it).')
    .argument('<id>', 'invocation id')
    .option('--no-progress', 'no progress bar, even on a terminal')
    .addHelpText('after', `
Examples:
  $ taskmesh wait job-1
  $ taskmesh wait job-1 --timeout 5000 --json; echo $?     # 75 while it still runs`)
    .action(async (id: string, flags: { progress: boolean }, command: Command) => {
      await ctx.withClient(command, async (client, out, globals) => {
        const view = ctx.barAllowed(command, flags.progress) ? new ProgressView(ctx.deps.stderr, id) : undefined;
        try {
          const result = await awaitOutcome(client, id, { view, signal: ctx.interrupt, ...(globals.timeout === undefined ? {} : { timeoutMs: globals.timeout }) });
          out.result(result ?? null, () => pretty(result));
        } catch (err) {
          if (!isStillRunning(err)) throw err;
          const state = meshFailureOf(err)?.details?.['state'];
          out.result({ id, state }, () => `${id} is ${String(state)}: still going after ${globals.timeout} ms`);
          ctx.exitCode = EXIT_STILL_RUNNING;
        }
      });
    });

  program
    .command('events')
    .summary('print an invocation\'s events until its final state')
    .description('Print an invocation\'s state changes and progress events from its first, one line each (with --json one '
      + 'RESPONSE object per line), until its final state. The exit status is its outcome\'s: 0 for SUCCESS, the failure '
      + 'code\'s for FAILURE. Ctrl-C stops (exit 130).')
    .argument('<id>', 'invocation id')
    .addHelpText('after', `
Examples:
  $ taskmesh events job-1
  $ taskmesh events job-1 --json | jq -c 'select(.state == "EVENT") | .data.details'`)
    .action(async (id: string, _flags: unknown, command: Command) => {
      await ctx.withClient(command, async (client, out) => {
        let last: { state: string; data?: unknown } | undefined;
        try {
          for await (const response of client.events(id, { signal: ctx.interrupt })) {
            out.item(response, () => responseLine(response));
            last = response;
          }
        } catch (err) {
          if (ctx.interrupt.aborted) throw new InterruptedError();
          throw err;
        }
        if (ctx.interrupt.aborted && last?.state !== 'SUCCESS' && last?.state !== 'FAILURE') {
          ctx.exitCode = EXIT_INTERRUPTED;
          return;
        }
        const failure = last?.state === 'FAILURE' ? meshFailureOf((last.data as { failure?: unknown } | undefined)?.failure) : undefined;
        if (failure !== undefined) ctx.exitCode = FAILURE_EXIT_CODES[failure.code];
      });
    });
}
