import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { MAX_TIMEOUT_MS } from '@taskmesh/protocol';
import { intArgument } from './arguments.js';
import type { CliDeps } from './cli-deps.js';
import { CliContext } from './cli-context.js';
import { registerCall } from './commands/call.command.js';
import { registerDeadLetters } from './commands/deadletters.command.js';
import { registerDispatches } from './commands/dispatches.command.js';
import { registerInvocations } from './commands/invocations.command.js';
import { registerStory } from './commands/story.command.js';
import { registerWait } from './commands/wait.command.js';
import { registerWorkers } from './commands/workers.command.js';
import { registerAuth } from './commands/auth.command.js';
import { EXIT_OK, EXIT_USAGE, exitCodeOf, exitCodesHelp, meshFailureOf } from './exit-codes.js';
import { DEFAULT_PREFIX, DEFAULT_SERVER } from './global-options.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/**
 * The `taskmesh` program (commander), its commands bound to `deps`. Usage errors print the help of the command
 * they belong to; every error leaves as a CommanderError (exitOverride) or the command's own error, for runCli.
 */
export function createProgram(deps: CliDeps, ctx: CliContext = new CliContext(deps)): Command {
  const program = new Command('taskmesh')
    .description('Call, submit, wait for and watch tasks on a taskmesh mesh (NATS JetStream).')
    .version(version)
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => deps.stdout.write(s), writeErr: (s) => deps.stderr.write(s) })
    .addOption(new Option('-s, --server <urls>', 'NATS server URL(s), comma-separated').env('NATS_URL').default(DEFAULT_SERVER))
    .addOption(new Option('--creds <file>', 'NATS credentials file (JWT and nkey seed)').env('NATS_CREDS'))
    .addOption(new Option('--nkey-seed <file>', 'file holding a NATS nkey seed (SU...)').env('NATS_NKEY_SEED'))
    .addOption(new Option('--user <name>', 'NATS user').env('NATS_USER'))
    .addOption(new Option('--password <password>', 'NATS password (with --user)').env('NATS_PASSWORD'))
    .addOption(new Option('--token <token>', 'NATS token').env('NATS_TOKEN'))
    .addOption(new Option('--tls-ca <file>', 'CA certificate (PEM) that signed the server\'s, for TLS').env('NATS_TLS_CA'))
    .addOption(new Option('--prefix <prefix>', 'subject prefix of the mesh').env('MESH_PREFIX').default(DEFAULT_PREFIX))
    .addOption(new Option('--timeout <ms>', 'call/submit: deadline for the task to start (default 30000); wait: how long to wait').argParser(intArgument(1, MAX_TIMEOUT_MS)))
    .option('--json', 'output for scripts: one JSON document per result, one JSON object per line for streams', false)
    .addHelpText('after', `
Examples:
  $ taskmesh call echo '{"hello":"mesh"}'
  $ taskmesh call sleep '{"ms":1500,"steps":5}'
  $ id=$(taskmesh submit sleep '{"ms":3000}') && taskmesh wait "$id"
  $ taskmesh invocations --state FAILURE
  $ taskmesh workers --watch
  $ taskmesh dispatches create echo '{}' --cron '0 9 * * 1-5' --timezone Europe/Berlin
  $ taskmesh call chain '{"depth":2,"cycleTo":2}' --json; echo $?

Global options go before or after the command. The environment variables the apps read set them too: NATS_URL,
NATS_USER, NATS_PASSWORD, NATS_TOKEN, NATS_CREDS, NATS_NKEY_SEED, NATS_TLS_CA and MESH_PREFIX (a flag wins).
Failures are printed on stderr as CODE: message (with --json, {"failure": {...}} on stdout).

${exitCodesHelp()}`);
  registerCall(program, ctx);
  registerWait(program, ctx);
  registerInvocations(program, ctx);
  registerStory(program, ctx);
  registerWorkers(program, ctx);
  registerDispatches(program, ctx);
  registerDeadLetters(program, ctx);
  registerAuth(program, ctx);
  return program;
}

/**
 * Runs the CLI on `argv` (the arguments after the program name) and resolves with its exit status: 0, the
 * failure code's status, 2 for usage, 69 when NATS cannot be reached (see exitCodesHelp). Never rejects.
 */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const ctx = new CliContext(deps);
  const program = createProgram(deps, ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    // Commander has printed its message and the help already; help and --version exit 0.
    if (err instanceof CommanderError) return err.exitCode === EXIT_OK ? EXIT_OK : EXIT_USAGE;
    const failure = meshFailureOf(err);
    if (failure !== undefined && program.opts<{ json: boolean }>().json) {
      deps.stdout.write(`${JSON.stringify({ failure }, null, 2)}\n`);
    } else if (failure !== undefined) {
      const details = failure.details !== undefined && Object.keys(failure.details).length > 0 ? `\n  details: ${JSON.stringify(failure.details)}` : '';
      deps.stderr.write(`taskmesh: ${failure.code}: ${failure.message}${details}\n`);
    } else {
      deps.stderr.write(`taskmesh: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    return exitCodeOf(err);
  }
}
