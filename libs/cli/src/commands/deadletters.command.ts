import type { Command } from 'commander';
import { intArgument } from '../arguments.js';
import type { CliContext } from '../cli-context.js';
import { deadLettersTable } from '../format.js';

/** `taskmesh deadletters`. */
export function registerDeadLetters(program: Command, ctx: CliContext): void {
  program
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
}
