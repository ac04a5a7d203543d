import type { Command } from 'commander';
import type { MeshClientApi } from '@taskmesh/client';
import type { CliDeps } from './cli-deps.js';
import { ConnectFailedError, UsageError } from './exit-codes.js';
import { connectFailure, connectOptionsOf, type GlobalOptions } from './global-options.js';

/** How long closing the connection may take at the end of a command (a lost server must not hold the shell). */
const CLOSE_TIMEOUT_MS = 2_000;

/** Where a command writes its results: JSON documents with `--json`, text for people otherwise. */
export class Output {
  constructor(
    private readonly deps: CliDeps,
    /** `--json`: one JSON document per result, one JSON object per line for streams. */
    readonly json: boolean,
  ) {}

  /** One result: a JSON document, or the text `human()` makes. */
  result(value: unknown, human: () => string): void {
    this.deps.stdout.write(`${this.json ? JSON.stringify(value, null, 2) : human()}\n`);
  }

  /** One item of a stream: JSON on one line, or the line `human()` makes. */
  item(value: unknown, human: () => string): void {
    this.deps.stdout.write(`${this.json ? JSON.stringify(value) : human()}\n`);
  }

  /** A note for people on stderr (never with `--json`, whose readers want stdout clean and stderr quiet). */
  note(text: string): void {
    if (!this.json) this.deps.stderr.write(`${text}\n`);
  }
}

/** What every command's action gets: the dependencies, the output, the connection, and its exit status. */
export class CliContext {
  /** The exit status of a command that did not throw (e.g. `events` ending in FAILURE). */
  exitCode = 0;
  /** Aborted by Ctrl-C. */
  readonly interrupt: AbortSignal;

  constructor(readonly deps: CliDeps) {
    this.interrupt = deps.interrupt ?? new AbortController().signal;
  }

  /** The global options as they apply to `command` (set before or after its name). */
  globals(command: Command): GlobalOptions {
    return command.optsWithGlobals<GlobalOptions>();
  }

  /** The output of `command` (`--json` or text). */
  output(command: Command): Output {
    return new Output(this.deps, this.globals(command).json);
  }

  /** True when a progress bar may be drawn: stderr is a terminal, no `--json`, and the command allows it. */
  barAllowed(command: Command, progress: boolean): boolean {
    return progress && !this.globals(command).json && this.deps.stderr.isTTY === true;
  }

  /**
   * Connects with the global options, runs `work`, and closes the connection whatever happens. A bad mix of
   * options is a usage error of `command` (its help, exit 2); a first connection that fails is ConnectFailedError.
   */
  async withClient<T>(command: Command, work: (client: MeshClientApi, out: Output, globals: GlobalOptions) => Promise<T>): Promise<T> {
    const globals = this.globals(command);
    let options;
    try {
      options = connectOptionsOf(globals);
    } catch (err) {
      if (err instanceof UsageError) command.error(`error: ${err.message}`, { exitCode: 2, code: 'taskmesh.usage' });
      throw err;
    }
    let client: MeshClientApi;
    try {
      client = await this.deps.connect(options);
    } catch (err) {
      throw new ConnectFailedError(globals.server, connectFailure(err), { cause: err });
    }
    try {
      return await work(client, new Output(this.deps, globals.json), globals);
    } finally {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        client.close().catch(() => undefined),
        new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
    }
  }
}
