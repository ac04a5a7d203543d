import type { Command } from 'commander';
import { intArgument } from '../arguments.js';
import type { CliContext } from '../cli-context.js';
import { EXIT_USAGE } from '../exit-codes.js';
import { deadLettersTable, redriveLines } from '../format.js';

/** `taskmesh deadletters` and `taskmesh deadletters redrive`. */
export function registerDeadLetters(program: Command, ctx: CliContext): void {
  const deadLetters = program
    .command('deadletters')
    .summary('list the newest dead letters')
    .description('List the newest dead letters (work given up after its last delivery, unreadable messages), newest first. '
      + 'With --json, an array with each letter\'s body.')
    .option('--limit <n>', 'at most n letters (1 to 1000; default 100)', intArgument(1, 1000))
    .addHelpText('after', `
Examples:
  $ taskmesh deadletters --limit 20
  $ taskmesh deadletters --json | jq '.[0].body'`)
    .action(async (flags: { limit?: number }, command: Command) => {
      await ctx.withClient(command, async (client, out) => {
        const letters = await client.deadLetters(flags.limit === undefined ? {} : { limit: flags.limit });
        out.result(letters, () => (letters.length === 0 ? 'no dead letters' : deadLettersTable(letters)));
      });
    });

  deadLetters
    .command('redrive')
    .summary('put dead-lettered work back on the work queue')
    .description('Put dead-lettered work back on the work queue as a new attempt of the same invocation: the newest dead '
      + 'letter of <id>, or with --all every dead letter (of --task). Each dead letter runs once, however many redrives race. '
      + 'Prints what was redriven and what was skipped and why; with --json, `{redriven, skipped, more?}`. Needs a user '
      + 'allowed to redrive (admin). Exit 0 even when some were skipped.')
    .argument('[id]', 'invocation id')
    .option('--all', 'every dead letter (at most 100 a request; `more` says to run it again)')
    .option('--task <task>', 'with --all: only this task\'s')
    .addHelpText('after', `
Examples:
  $ taskmesh deadletters redrive job-1
  $ taskmesh deadletters redrive --all --task flaky
  $ taskmesh deadletters redrive --all --json | jq -r '.redriven[]'`)
    .action(async (id: string | undefined, flags: { all?: boolean; task?: string }, command: Command) => {
      const usage = (message: string): never => command.error(`error: ${message}`, { exitCode: EXIT_USAGE, code: 'taskmesh.usage' });
      if ((id === undefined) === (flags.all !== true)) usage('give an invocation id or --all (not both)');
      if (flags.task !== undefined && flags.all !== true) usage('--task goes with --all');
      await ctx.withClient(command, async (client, out) => {
        const reply = await client.redrive(id !== undefined ? { id } : { all: true, ...(flags.task === undefined ? {} : { task: flags.task }) });
        out.result(reply, () => redriveLines(reply));
      });
    });
}
