import { Option, type Command } from 'commander';
import { REQUEST_STATES, type RequestState } from '@taskmesh/protocol';
import { instantArgument, intArgument } from '../arguments.js';
import type { CliContext } from '../cli-context.js';
import { invocationFields, invocationsTable } from '../format.js';

/** `taskmesh get`, `taskmesh cancel` and `taskmesh invocations`. */
export function registerInvocations(program: Command, ctx: CliContext): void {
  program
    .command('get')
    .summary('print an invocation\'s record')
    .description('Print an invocation\'s record: state, attempts, worker, times, result or failure, parent and children. '
      + 'Exit 19 (NOT_FOUND) when there is none.')
    .argument('<id>', 'invocation id')
    .addHelpText('after', `
Examples:
  $ taskmesh get job-1
  $ taskmesh get job-1 --json | jq -r .state`)
    .action(async (id: string, _flags: unknown, command: Command) => {
      await ctx.withClient(command, async (client, out) => {
        const record = await client.get(id);
        out.result(record, () => invocationFields(record));
      });
    });

  program
    .command('cancel')
    .summary('cancel an invocation')
    .description('Cancel an invocation and print its state after the request: FAILURE CANCELLED, RUNNING while its worker '
      + 'stops it, or its outcome when it had one already. Exit 0 whatever the state; 19 (NOT_FOUND) when there is none.')
    .argument('<id>', 'invocation id')
    .addHelpText('after', `
Examples:
  $ taskmesh cancel job-1
  $ taskmesh cancel job-1 --json`)
    .action(async (id: string, _flags: unknown, command: Command) => {
      await ctx.withClient(command, async (client, out) => {
        const response = await client.cancel(id);
        const failure = response.state === 'FAILURE' ? response.failure : undefined;
        out.result(response, () => `${response.id ?? id} ${response.state}${failure ? ` ${failure.code}: ${failure.message}` : ''}`);
      });
    });

  program
    .command('invocations')
    .alias('list')
    .summary('list invocation records, newest first')
    .description('List invocation records, newest first, as a table (with --json, an array of records).')
    .option('--task <task>', 'only this task\'s')
    .addOption(new Option('--state <state>', 'only those in this state').choices(REQUEST_STATES))
    .option('--key <key>', 'only those with this ordering key')
    .option('--from <instant>', 'only those created at or after (ISO-8601 with a zone)', instantArgument)
    .option('--to <instant>', 'only those created at or before (ISO-8601 with a zone)', instantArgument)
    .option('--limit <n>', 'at most n records (1 to 1000; default 100)', intArgument(1, 1000))
    .addHelpText('after', `
Examples:
  $ taskmesh invocations
  $ taskmesh invocations --task sleep --state FAILURE --limit 10
  $ taskmesh invocations --key customer-42 --from 2030-01-01T09:00:00Z --to 2030-01-01T10:00:00Z
  $ taskmesh invocations --json | jq -r '.[].id'`)
    .action(async (flags: { task?: string; state?: RequestState; key?: string; from?: string; to?: string; limit?: number }, command: Command) => {
      await ctx.withClient(command, async (client, out) => {
        const records = await client.list({
          ...(flags.task === undefined ? {} : { task: flags.task }),
          ...(flags.state === undefined ? {} : { state: flags.state }),
          ...(flags.key === undefined ? {} : { key: flags.key }),
          ...(flags.from === undefined ? {} : { from: flags.from }),
          ...(flags.to === undefined ? {} : { to: flags.to }),
          ...(flags.limit === undefined ? {} : { limit: flags.limit }),
        });
        out.result(records, () => (records.length === 0 ? 'no invocations' : invocationsTable(records)));
      });
    });
}
