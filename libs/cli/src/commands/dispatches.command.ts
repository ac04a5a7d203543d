import { randomBytes } from 'node:crypto';
import { Option, type Command } from 'commander';
import { DispatchEventType, MisfirePolicy, type DispatchEventMessage, type Recurrence } from '@taskmesh/protocol';
import { instantArgument, jsonArgument, msArgument } from '../arguments.js';
import type { CliContext, Output } from '../cli-context.js';
import { dispatchEventLine, dispatchFields, dispatchesTable } from '../format.js';

/** Options of `dispatches create`. */
interface CreateFlags {
  every?: string;
  cron?: string;
  start?: string;
  in?: number;
  duration?: number;
  timezone?: string;
  misfire?: MisfirePolicy;
  id?: string;
  key?: string;
  dryRun?: boolean;
  inactive?: boolean;
  follow?: boolean;
}

/** When a dispatch starts if neither --start nor --in says: in a second. */
const DEFAULT_START_IN_MS = 1_000;

/** `taskmesh dispatches create|list|get|delete|follow`: scheduled submits (docs/PROTOCOL.md section 4.8). */
export function registerDispatches(program: Command, ctx: CliContext): void {
  const dispatches = program
    .command('dispatches')
    .alias('schedule')
    .summary('schedule tasks: create, list, get, delete, follow dispatches')
    .description('Dispatches are scheduled submits, once or on a recurrence (RRULE or cron), served by the scheduler.')
    .addHelpText('after', `
Examples:
  $ taskmesh dispatches create sleep '{"ms":1000}' --every 'FREQ=SECONDLY;INTERVAL=10;COUNT=6' --duration 5000 --id demo --follow
  $ taskmesh dispatches create echo '{"standup":true}' --cron '0 9 * * 1-5' --timezone Europe/Berlin
  $ taskmesh dispatches list
  $ taskmesh dispatches delete demo`);

  dispatches
    .command('create')
    .summary('create a dispatch')
    .description('Create a dispatch: submit <task> at --start (or --in ms; default in 1 s), once or on a recurrence. '
      + 'Refusals exit with their failure code (11 VALIDATION_FAILED, 12 UNKNOWN_TASK...).')
    .argument('<task>', 'task name')
    .argument('[args]', 'the task\'s arguments, as JSON', jsonArgument)
    .addOption(new Option('--every <rrule>', 'recurrence as an RFC 5545 RRULE (FREQ=DAILY;BYHOUR=2)').conflicts('cron'))
    .addOption(new Option('--cron <expr>', 'recurrence as a cron expression (0 9 * * 1-5)'))
    .addOption(new Option('--start <instant>', 'first occurrence, ISO-8601 (2030-01-01T09:00:00Z)').argParser(instantArgument).conflicts('in'))
    .addOption(new Option('--in <ms>', 'first occurrence in ms from now').argParser(msArgument))
    .option('--duration <ms>', 'how long each occurrence runs (then `stopped`)', msArgument)
    .option('--timezone <zone>', 'IANA zone of the recurrence (default UTC)')
    .addOption(new Option('--misfire <policy>', 'occurrences missed while no scheduler led (default skip)').choices(Object.values(MisfirePolicy)))
    .option('--id <id>', 'dispatch id of your choosing')
    .option('--key <key>', 'key of the submitted invocations (one at a time, in order)')
    .option('--dry-run', 'record occurrences without submitting anything')
    .option('--inactive', 'create it paused')
    .option('--follow', 'then print its events until it is deleted or Ctrl-C')
    .addHelpText('after', `
Examples:
  $ taskmesh dispatches create sleep '{"ms":1000}' --every 'FREQ=SECONDLY;INTERVAL=10;COUNT=6' --duration 5000 --id demo --follow
  $ taskmesh dispatches create echo '{"standup":true}' --cron '0 9 * * 1-5' --timezone Europe/Berlin
  $ taskmesh dispatches create report '{"name":"q3"}' --start 2030-01-01T09:00:00Z --json`)
    .action(async (task: string, args: unknown, flags: CreateFlags, command: Command) => {
      await ctx.withClient(command, async (client, out) => {
        const recurrence: Recurrence | undefined = flags.every ?? (flags.cron === undefined ? undefined : { cron: flags.cron });
        const start = flags.start ?? new Date(Date.now() + (flags.in ?? DEFAULT_START_IN_MS)).toISOString();
        // With --follow, an id of our own, so that its events are followed before it exists (and `created` is seen).
        const id = flags.id ?? (flags.follow ? `d-${Date.now().toString(36)}${randomBytes(4).toString('hex')}` : undefined);
        const events = flags.follow && id !== undefined ? client.dispatches.follow(id, { signal: ctx.interrupt }) : undefined;
        // Asking for the first event starts the follow (its subscription) before the create is sent.
        const first = events?.next();
        first?.catch(() => undefined);
        let record;
        try {
          record = await client.dispatches.create({
            task, args, start, active: !flags.inactive, dryRun: flags.dryRun === true, misfire: flags.misfire ?? MisfirePolicy.Skip,
            ...(id === undefined ? {} : { id }),
            ...(recurrence === undefined ? {} : { recurrence }),
            ...(flags.duration === undefined ? {} : { duration: flags.duration }),
            ...(flags.timezone === undefined ? {} : { timezone: flags.timezone }),
            ...(flags.key === undefined ? {} : { key: flags.key }),
          });
        } catch (err) {
          await events?.return?.();
          throw err;
        }
        if (events === undefined || first === undefined) {
          out.result(record, () => dispatchFields(record));
          return;
        }
        out.item(record, () => dispatchFields(record));
        await followEvents(ctx, out, events, first);
      });
    });

  dispatches
    .command('list')
    .summary('list the dispatches')
    .addHelpText('after', `
Examples:
  $ taskmesh dispatches list
  $ taskmesh dispatches list --json | jq -r '.[].id'`)
    .action(async (_flags: unknown, command: Command) => {
      await ctx.withClient(command, async (client, out) => {
        const list = await client.dispatches.list();
        out.result(list, () => (list.length === 0 ? 'no dispatches' : dispatchesTable(list)));
      });
    });

  dispatches
    .command('get')
    .summary('print a dispatch')
    .argument('<id>', 'dispatch id')
    .addHelpText('after', `
Examples:
  $ taskmesh dispatches get demo
  $ taskmesh dispatches get demo --json | jq .recurrence`)
    .action(async (id: string, _flags: unknown, command: Command) => {
      await ctx.withClient(command, async (client, out) => {
        const record = await client.dispatches.get(id);
        out.result(record, () => dispatchFields(record));
      });
    });

  dispatches
    .command('delete')
    .summary('delete a dispatch (occurrences already submitted go on)')
    .argument('<id>', 'dispatch id')
    .addHelpText('after', `
Examples:
  $ taskmesh dispatches delete demo`)
    .action(async (id: string, _flags: unknown, command: Command) => {
      await ctx.withClient(command, async (client, out) => {
        await client.dispatches.delete(id);
        out.result({ id, deleted: true }, () => `deleted ${id}`);
      });
    });

  dispatches
    .command('follow')
    .summary('print a dispatch\'s events until it is deleted')
    .description('Print a dispatch\'s events (created, updated, started, stopped, deleted) as they happen, one line each (with '
      + '--json one event object per line), until it is deleted (exit 0) or Ctrl-C (exit 0).')
    .argument('<id>', 'dispatch id')
    .addHelpText('after', `
Examples:
  $ taskmesh dispatches follow demo
  $ taskmesh dispatches follow demo --json | jq -r .event`)
    .action(async (id: string, _flags: unknown, command: Command) => {
      await ctx.withClient(command, async (client, out) => {
        const events = client.dispatches.follow(id, { signal: ctx.interrupt });
        out.note(`following dispatch ${id} (Ctrl-C stops)`);
        await followEvents(ctx, out, events, events.next());
      });
    });
}

/** Prints dispatch events until `deleted`, Ctrl-C or the end of the stream. */
async function followEvents(
  ctx: CliContext,
  out: Output,
  events: AsyncIterableIterator<DispatchEventMessage>,
  first: Promise<IteratorResult<DispatchEventMessage>>,
): Promise<void> {
  try {
    for (let next = await first; !next.done; next = await events.next()) {
      const event = next.value;
      out.item(event, () => dispatchEventLine(event));
      if (event.event === DispatchEventType.Deleted) break;
    }
  } catch (err) {
    if (!ctx.interrupt.aborted) throw err;
  } finally {
    await events.return?.();
  }
}
