import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trackLeftover, untrackLeftover } from './leftovers.js';

/** The deployables (docs/ARCHITECTURE.md), each built to `dist/apps/<app>/main.js`. */
export type AppName = 'router' | 'orchestrator' | 'scheduler' | 'worker' | 'dashboard';

/** How a process ended: an exit code, or the signal that killed it. */
export interface AppExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Options of `spawnApp`. */
export interface SpawnAppOptions {
  /** Label in errors and echoed lines (default: the app name), e.g. `worker-2`. */
  name?: string;
  /** Script to run instead of `dist/apps/<app>/main.js` (absolute, or relative to the repository root). */
  entry?: string;
  /** Copy every output line to this process's stderr, prefixed with the name (default: env `TASKMESH_ECHO_APPS=1`). */
  echo?: boolean;
  /** Most output lines kept in memory; older ones are dropped (default 100 000). */
  maxLines?: number;
  /** Node options before the entry, e.g. `['--cpu-prof', '--cpu-prof-dir=/tmp/p']` (not allowed in NODE_OPTIONS). */
  nodeArgs?: string[];
}

/** A built app running as a child process, with its output captured line by line (pino JSON). */
export interface AppProcess {
  readonly name: string;
  readonly pid: number;
  /** Captured stdout and stderr lines, oldest first (at most `maxLines`). */
  lines(): string[];
  /** How many lines the process has written so far: pass it to `waitForLine` to wait only for newer ones. */
  lineCount(): number;
  /** Resolves with the first line (from line number `fromLine` on) matching `re`; rejects on timeout or exit. */
  waitForLine(re: RegExp, timeoutMs: number, fromLine?: number): Promise<string>;
  /** Sends a signal (default SIGTERM) and returns at once. */
  kill(signal?: NodeJS.Signals): void;
  /** Settles when the process has exited. */
  readonly exited: Promise<AppExit>;
  /** SIGTERM, then SIGKILL if it has not exited within `timeoutMs` (default 10 s); resolves with how it ended. */
  stop(timeoutMs?: number): Promise<AppExit & { forced: boolean }>;
}

const DEFAULT_MAX_LINES = 100_000;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;
const KILL_GRACE_MS = 2_000;
const MAX_PARTIAL_LINE = 1_048_576;

/** The repository root (the directory of the `taskmesh` package.json), found from this file's location. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  // Bounded: libs/testing/src (or dist/libs/testing/src) is at most a handful of levels below the root.
  for (let depth = 0; depth < 8; depth++) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'taskmesh') return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`cannot find the taskmesh repository root above ${fileURLToPath(import.meta.url)}`);
}

/**
 * Runs `node dist/apps/<app>/main.js` from the repository root with `process.env` plus `env`, capturing its
 * output lines. The process is killed with the test process if nothing stops it first.
 */
export function spawnApp(app: AppName, env: Record<string, string>, opts: SpawnAppOptions = {}): AppProcess {
  const root = repoRoot();
  const entry = resolve(root, opts.entry ?? join('dist', 'apps', app, 'main.js'));
  if (!existsSync(entry)) throw new Error(`${relative(root, entry)} does not exist: run \`npm run build\` first`);
  // The stock worker serves the demo tasks the tests call only when told to (MESH_DEMO_TASKS); `env` may say otherwise.
  const demo = app === 'worker' ? { MESH_DEMO_TASKS: 'true' } : {};
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), entry], { cwd: root, env: { ...process.env, ...demo, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new ChildAppProcess(opts.name ?? app, child, opts);
}

type LineListener = (line: string, index: number) => void;

/** The AppProcess implementation; `ProcessGroup` stops these before anything else. */
export class ChildAppProcess implements AppProcess {
  readonly exited: Promise<AppExit>;
  private readonly captured: string[] = [];
  private dropped = 0;
  private readonly listeners = new Set<LineListener>();
  private readonly maxLines: number;
  private readonly echo: boolean;
  private exit: AppExit | undefined;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    opts: SpawnAppOptions,
  ) {
    this.maxLines = opts.maxLines ?? DEFAULT_MAX_LINES;
    this.echo = opts.echo ?? process.env['TASKMESH_ECHO_APPS'] === '1';
    if (child.pid !== undefined) trackLeftover(child.pid);
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => this.onLine(`[spawn error] ${err.message}`));
      // 'close' (not 'exit'): by then stdout and stderr are drained, so lines() is complete when exited settles.
      child.once('close', (code, signal) => {
        if (child.pid !== undefined) untrackLeftover(child.pid);
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    if (child.stdout) this.readLines(child.stdout);
    if (child.stderr) this.readLines(child.stderr);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  lines(): string[] {
    return [...this.captured];
  }

  lineCount(): number {
    return this.dropped + this.captured.length;
  }

  waitForLine(pattern: RegExp, timeoutMs: number, fromLine = 0): Promise<string> {
    // A /g or /y regex keeps state between test() calls; matching line by line needs a stateless copy.
    const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    const start = Math.max(0, fromLine - this.dropped);
    const seen = this.captured.slice(start).find((line) => re.test(line));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const finish = (outcome: () => void): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        outcome();
      };
      const listener: LineListener = (line, index) => {
        if (index >= fromLine && re.test(line)) finish(() => resolve(line));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`Timed out after ${timeoutMs}ms waiting for ${this.name} to log ${re}; last lines:\n${this.tail(15)}`))),
        timeoutMs,
      );
      this.listeners.add(listener);
      void this.exited.then((exit) => {
        finish(() => reject(new Error(`${this.name} exited (${exit.signal ?? exit.code}) before logging ${re}; last lines:\n${this.tail(15)}`)));
      });
    });
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.exit === undefined) this.child.kill(signal);
  }

  async stop(timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<AppExit & { forced: boolean }> {
    if (this.exit !== undefined) return { ...this.exit, forced: false };
    this.child.kill('SIGTERM');
    const graceful = await within(this.exited, timeoutMs);
    if (graceful !== undefined) return { ...graceful, forced: false };
    this.child.kill('SIGKILL');
    const killed = await within(this.exited, KILL_GRACE_MS);
    if (killed === undefined) throw new Error(`${this.name} (pid ${this.pid}) survived SIGKILL`);
    return { ...killed, forced: true };
  }

  private tail(n: number): string {
    return this.captured.slice(-n).join('\n');
  }

  private readLines(stream: NodeJS.ReadableStream): void {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) if (line) this.onLine(line);
      // A newline-less flood must not grow the buffer without bound: emit it as a line of its own.
      if (partial.length > MAX_PARTIAL_LINE) {
        this.onLine(partial);
        partial = '';
      }
    });
    stream.on('end', () => {
      if (partial) this.onLine(partial);
      partial = '';
    });
  }

  private onLine(line: string): void {
    const index = this.lineCount();
    this.captured.push(line);
    if (this.captured.length > this.maxLines) {
      // Drop in chunks so a chatty process costs amortised O(1) per line.
      const excess = this.captured.length - this.maxLines + Math.ceil(this.maxLines / 10);
      this.captured.splice(0, excess);
      this.dropped += excess;
    }
    if (this.echo) process.stderr.write(`${this.name} | ${line}\n`);
    for (const listener of [...this.listeners]) listener(line, index);
  }
}

async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
