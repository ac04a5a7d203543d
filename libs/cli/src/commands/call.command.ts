import { Option, type Command } from 'commander';
import { jsonArgument } from '../arguments.js';
import type { CliContext } from '../cli-context.js';
import { InterruptedError } from '../exit-codes.js';
import { awaitOutcome } from '../invocation-outcome.js';
import { ProgressView } from '../progress-view.js';

/** Options of `call` (besides the global ones). */
interface CallFlags {
  id?: string;
  key?: string;
  delivery?: 'durable' | 'direct';
  progress: boolean;
}

/** The result as printed for people: JSON, indented. */
export const pretty = (value: unknown): string => JSON.stringify(value ?? null, null, 2);

/** `taskmesh call` and `taskmesh submit`. */
export function registerCall(program: Command, ctx: CliContext): void {
  program
    .command('call')
    .summary('run a task and print its result')
    .description(
      'Run a task and print its result (exit 0), or its failure (exit status by failure code; see `taskmesh --help`).\n\n'
      + 'On a terminal, call shows a progress bar on stderr, fed by the invocation\'s progress events: it then submits the '
      + 'invocation durably (a task declared direct runs durably too), follows its events and waits for its outcome, '
      + 'however long it runs. What is printed is always the outcome, never an event. Without a terminal, with --json, '
      + '--no-progress or --delivery direct it is one plain call with no bar. Ctrl-C cancels the invocation (exit 130). '
      + '--timeout is the deadline for the invocation to start (default 30000 ms, the mesh\'s).',
    )
    .argument('<task>', 'task name')
    .argument('[args]', 'the task\'s arguments, as JSON', jsonArgument)
    .option('--id <id>', 'invocation id of your choosing: the same id never runs twice')
    .option('--key <key>', 'invocations with the same key run one at a time, in order')
    .addOption(new Option('--delivery <how>', 'durable (work queue) or direct (straight to a live worker); default: the task\'s own').choices(['durable', 'direct']))
    .option('--no-progress', 'no progress bar, even on a terminal')
    .addHelpText('after', `
Examples:
  $ taskmesh call echo '{"hello":"mesh"}'
  $ taskmesh call sleep '{"ms":1500,"steps":5}'          # a bar that fills as the task reports progress
  $ taskmesh call echo '{"n":1}' --json | jq .n
  $ taskmesh call ping --delivery direct --server nats://10.0.0.5:4222
  $ taskmesh call chain '{"depth":2,"cycleTo":2}'; echo $?  # 16: CYCLE_DETECTED`)
    .action(async (task: string, args: unknown, flags: CallFlags, command: Command) => {
      await ctx.withClient(command, async (client, out, globals) => {
        const signal = ctx.interrupt;
        const options = {
          ...(flags.id === undefined ? {} : { id: flags.id }),
          ...(flags.key === undefined ? {} : { key: flags.key }),
          ...(globals.timeout === undefined ? {} : { timeoutMs: globals.timeout }),
        };
        let result: unknown;
        if (ctx.barAllowed(command, flags.progress) && flags.delivery !== 'direct') {
          const id = await client.submit(task, args, options);
          try {
            result = await awaitOutcome(client, id, { view: new ProgressView(ctx.deps.stderr, task), signal });
          } catch (err) {
            if (err instanceof InterruptedError) {
              await client.cancel(id).catch(() => undefined);
              throw new InterruptedError(`interrupted: cancelled ${id}`);
            }
            throw err;
          }
        } else {
          try {
            result = await client.call(task, args, { ...options, ...(flags.delivery === undefined ? {} : { delivery: flags.delivery }), signal });
          } catch (err) {
            if (signal.aborted) throw new InterruptedError('interrupted: the call was cancelled');
            throw err;
          }
        }
        out.result(result ?? null, () => pretty(result));
      });
    });

  program
    .command('submit')
    .summary('accept a task durably and print its invocation id')
    .description('Accept a task durably and print its invocation id once the mesh has it (state WAITING); collect the outcome '
      + 'later with `taskmesh wait <id>`. --timeout is the deadline for it to start (default 30000 ms).')
    .argument('<task>', 'task name')
    .argument('[args]', 'the task\'s arguments, as JSON', jsonArgument)
    .option('--id <id>', 'invocation id of your choosing: the same id never runs twice')
    .option('--key <key>', 'invocations with the same key run one at a time, in order')
    .addHelpText('after', `
Examples:
  $ id=$(taskmesh submit sleep '{"ms":3000}') && taskmesh wait "$id"
  $ taskmesh submit sleep '{"ms":3000}' --id job-1 --json     # {"id": "job-1"}`)
    .action(async (task: string, args: unknown, flags: Omit<CallFlags, 'delivery' | 'progress'>, command: Command) => {
      await ctx.withClient(command, async (client, out, globals) => {
        const id = await client.submit(task, args, {
          ...(flags.id === undefined ? {} : { id: flags.id }),
          ...(flags.key === undefined ? {} : { key: flags.key }),
          ...(globals.timeout === undefined ? {} : { timeoutMs: globals.timeout }),
        });
        out.result({ id }, () => id);
      });
    });
}
