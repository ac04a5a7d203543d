import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Role } from '@taskmesh/protocol';
import { trackLeftover, untrackLeftover } from './leftovers.js';
import { TestUsers, type NatsAppEnv, type NatsLogin } from './test-users.js';

/** How to start a test nats-server. */
export interface NatsServerOptions {
  /**
   * Extra nats-server configuration appended to the generated file (e.g. `http: ...`). A config with its own
   * `authorization`, `accounts` or `operator` block brings its own users: the server then has no generated ones.
   */
  config?: string;
  /**
   * Require a login (default on): one user per Role with that role's permissions (`TestUsers`) on the meshes of
   * `prefixes` (default `mesh`); `server.login(role)` / `server.appEnv(role)` give them out. `false` starts an
   * anonymous server: say at the call site why the test needs one.
   */
  auth?: false | { prefixes?: readonly string[] };
  /** Listen on this port instead of a random free one (e.g. to start a server a client is already retrying). */
  port?: number;
  /**
   * Enable JetStream with a store in the server's own temp dir (default true); an object also sets the server's
   * JetStream storage limits (e.g. a tiny `max_file_store` to test what happens when the server is full).
   */
  jetstream?: boolean | { max_file_store?: number; max_mem_store?: number };
  /** Path of the nats-server binary; default: `nats-server` looked up on `searchPath`. */
  binary?: string;
  /** The PATH to look the binary up on (default `process.env.PATH`). */
  searchPath?: string;
  /** Deadline for the server to accept connections (default 10 s). */
  startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before it sends SIGKILL (default 5 s). */
  stopTimeoutMs?: number;
  /** Keep the temp dir (store, config, log) after `stop()` for a post-mortem (default: env `TASKMESH_KEEP_NATS_DIR=1`). */
  keepDir?: boolean;
}

/** A running nats-server owned by one test suite. */
export interface NatsServer {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The server's temp dir: config file, log file and JetStream store. Removed by `stop()`. */
  readonly dir: string;
  /** The JetStream `store_dir` (kept across `restart()`). */
  readonly storeDir: string;
  /** Where the server's stdout and stderr go (appended across restarts). */
  readonly logFile: string;
  readonly configFile: string;
  /** Pid of the current server process (changes on `restart()`). */
  readonly pid: number;
  /** SIGTERM, SIGKILL after the stop deadline, then removes the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Stops the process (keeping the store) and starts it again on the same port and store. */
  restart(): Promise<void>;
  /** Sends a signal to the server process (default SIGKILL, a crash) and does nothing else; `restart()` recovers. */
  kill(signal?: NodeJS.Signals): void;
  /** The last `lines` lines of the server log, for failure messages. */
  logTail(lines?: number): string;
  /** The generated users, or undefined when the server is anonymous or its `config` brings its own users. */
  readonly users: TestUsers | undefined;
  /** `role`'s login for nats.js: `connect({ servers: server.url, ...server.login(Role.Caller) })`. Throws without `users`. */
  login(role: Role): NatsLogin;
  /** `NATS_URL`, `NATS_USER` and `NATS_PASSWORD` for an app (or CLI) that connects as `role`. Throws without `users`. */
  appEnv(role: Role): NatsAppEnv;
}

/** A config that defines its own users or accounts: generated users would clash with it. */
const OWN_AUTH = /^\s*(authorization|accounts|operator)\s*[{:=]/m;

/** The users a server generates for `opts`, or undefined (anonymous, or `config` brings its own). */
export function testUsersFor(opts: Pick<NatsServerOptions, 'auth' | 'config'>): TestUsers | undefined {
  if (opts.auth === false || OWN_AUTH.test(opts.config ?? '')) return undefined;
  return TestUsers.generate(opts.auth?.prefixes);
}

/** nats-server is not installed (or not where it was said to be); the message says how to install it. */
export class NatsServerNotFoundError extends Error {
  constructor(where: string) {
    super(
      `nats-server not found (${where}). Integration and e2e tests run a real nats-server >= 2.9 with JetStream: `
        + 'install it with `sudo apt-get install -y nats-server` (Debian/Ubuntu) or `brew install nats-server` (macOS), '
        + 'or download a release from https://nats.io/download/ and put it on PATH.',
    );
    this.name = 'NatsServerNotFoundError';
  }
}

const DEFAULT_START_TIMEOUT_MS = 10_000;
const DEFAULT_STOP_TIMEOUT_MS = 5_000;
/** After SIGKILL a process is gone within milliseconds; this only bounds the wait if the OS is wedged. */
const KILL_GRACE_MS = 2_000;
/** Another process may grab the free port between probing and binding it; a new port is tried this many times. */
const PORT_ATTEMPTS = 5;
/** `restart()` must reuse its port; if the port is briefly busy it retries for about this long. */
const SAME_PORT_RETRY_MS = 3_000;

/** Finds the nats-server binary: `binary` when given, else `nats-server` on `searchPath` (default PATH). */
export function findNatsServer(opts: Pick<NatsServerOptions, 'binary' | 'searchPath'> = {}): string {
  if (opts.binary !== undefined) {
    if (isExecutable(opts.binary)) return opts.binary;
    throw new NatsServerNotFoundError(`${opts.binary} is not an executable file`);
  }
  const path = opts.searchPath ?? process.env['PATH'] ?? '';
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'nats-server');
    if (isExecutable(candidate)) return candidate;
  }
  throw new NatsServerNotFoundError(`not on PATH=${path || '(empty)'}`);
}

/**
 * Starts a nats-server on a random free loopback port with its own temp dir (config, log, JetStream store),
 * waits until it accepts clients, and registers it so it is killed with the test process in any case.
 */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = findNatsServer(opts);
  const dir = mkdtempSync(join(tmpdir(), 'taskmesh-nats-'));
  const users = testUsersFor(opts);
  try {
    let lastError: unknown;
    const attempts = opts.port === undefined ? PORT_ATTEMPTS : 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const port = opts.port ?? (await freePort());
      const server = new ManagedNatsServer(binary, dir, port, opts, users);
      try {
        await server.launch();
        return server;
      } catch (err) {
        lastError = err;
        if (!(err instanceof PortInUseError)) throw err;
      }
    }
    throw new Error(`could not start nats-server on a free port after ${attempts} attempt(s)`, { cause: lastError });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

class PortInUseError extends Error {}

class ManagedNatsServer implements NatsServer {
  readonly url: string;
  readonly storeDir: string;
  readonly logFile: string;
  readonly configFile: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly keepDir: boolean;

  constructor(
    private readonly binary: string,
    readonly dir: string,
    readonly port: number,
    opts: NatsServerOptions,
    readonly users: TestUsers | undefined,
  ) {
    this.url = `nats://127.0.0.1:${port}`;
    this.storeDir = join(dir, 'jetstream');
    this.logFile = join(dir, 'nats-server.log');
    this.configFile = join(dir, 'nats-server.conf');
    this.startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    this.stopTimeoutMs = opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    this.keepDir = opts.keepDir ?? process.env['TASKMESH_KEEP_NATS_DIR'] === '1';
    const js = opts.jetstream ?? true;
    const jsLimits = typeof js === 'object' ? Object.entries(js).filter(([, v]) => v !== undefined).map(([k, v]) => `, ${k}: ${v}`).join('') : '';
    const lines = [
      `listen: "127.0.0.1:${port}"`,
      `server_name: "taskmesh-test-${port}"`,
      // nats-server appends "jetstream/" to store_dir itself.
      js === false ? '' : `jetstream { store_dir: ${JSON.stringify(dir)}${jsLimits} }`,
      users?.config ?? '',
      opts.config ?? '',
    ];
    writeFileSync(this.configFile, `${lines.filter(Boolean).join('\n')}\n`);
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }

  /** Starts the process and resolves once it sends INFO to a TCP client; rejects (process killed) otherwise. */
  async launch(): Promise<void> {
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.binary, ['-c', this.configFile], { stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    let exitedEarly = false;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        exitedEarly = true;
        if (child.pid !== undefined) untrackLeftover(child.pid);
        resolve();
      });
      child.once('error', () => {
        exitedEarly = true;
        resolve();
      });
    });
    this.child = child;
    if (child.pid !== undefined) trackLeftover(child.pid, this.dir);

    const deadline = performance.now() + this.startTimeoutMs;
    // Bounded by the start deadline.
    while (performance.now() < deadline) {
      if (exitedEarly) {
        const tail = this.logTail(20);
        if (/address already in use/i.test(tail)) throw new PortInUseError(`port ${this.port} is in use`);
        throw new Error(`nats-server exited during start (config ${this.configFile}):\n${tail}`);
      }
      if (await sendsInfo(this.port, 500)) return;
      await sleep(20);
    }
    await this.terminate(0);
    throw new Error(`nats-server did not accept connections on ${this.url} within ${this.startTimeoutMs}ms:\n${this.logTail(20)}`);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.terminate(this.stopTimeoutMs);
    if (!this.keepDir) rmSync(this.dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error(`nats-server ${this.url} was stopped; start a new one`);
    await this.terminate(this.stopTimeoutMs);
    const deadline = performance.now() + SAME_PORT_RETRY_MS;
    // Bounded: each failed launch is a port clash, retried until the deadline.
    for (;;) {
      try {
        await this.launch();
        return;
      } catch (err) {
        if (!(err instanceof PortInUseError) || performance.now() > deadline) throw err;
        await sleep(100);
      }
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  login(role: Role): NatsLogin {
    return this.requireUsers().login(role);
  }

  appEnv(role: Role): NatsAppEnv {
    return this.requireUsers().appEnv(role, this.url);
  }

  private requireUsers(): TestUsers {
    if (this.users === undefined) throw new Error(`nats-server ${this.url} has no generated users (started with auth: false, or its config brings its own)`);
    return this.users;
  }

  logTail(lines = 50): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** SIGTERM (unless graceMs is 0), SIGKILL after graceMs, and waits for the exit; harmless if already gone. */
  private async terminate(graceMs: number): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      await this.exited;
      return;
    }
    if (graceMs > 0) {
      child.kill('SIGTERM');
      if (await settlesWithin(this.exited, graceMs)) return;
    }
    child.kill('SIGKILL');
    if (!(await settlesWithin(this.exited, KILL_GRACE_MS))) throw new Error(`nats-server pid ${child.pid} survived SIGKILL`);
  }
}

/** True once `promise` settled, false if `ms` passed first. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A loopback port the OS reports free right now (bind to 0, read it, release it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the probed port'))));
    });
  });
}

/** Connects to the port and resolves true when the server greets with its INFO line within `timeoutMs`. */
async function sendsInfo(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let received = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
      if (received.includes('\r\n')) done(received.startsWith('INFO '));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
