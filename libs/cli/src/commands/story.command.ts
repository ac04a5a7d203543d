import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { storyTable } from '../format.js';

/** `taskmesh story`. */
export function registerStory(program: Command, ctx: CliContext): void {
  program
    .command('story')
    .summary('what the workers that ran an invocation saw and did')
    .description('Print what the worker cores that ran an invocation logged about it, one row per stimulus and instruction, '
      + 'by time: deliveries, starts, progress, retries, outcomes, acks. Read from the live workers\' memory; the attempts '
      + 'no live worker remembers are listed after the table. With --json, `{id, entries, workers, missing?, truncated?}`. '
      + 'Exit 19 (NOT_FOUND) when there is no such invocation.')
    .argument('<id>', 'invocation id')
    .addHelpText('after', `
Examples:
  $ taskmesh story job-1
  $ taskmesh story job-1 --json | jq -r '.entries[] | [.at, .attempt, .type] | @tsv'`)
    .action(async (id: string, _flags: unknown, command: Command) => {
      await ctx.withClient(command, async (client, out) => {
        const story = await client.story(id);
        out.result(story, () => storyTable(story));
      });
    });
}
