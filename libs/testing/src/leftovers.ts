import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Makes sure every process the test support starts dies with the test process, however that one ends.
 *
 * Two layers, because neither is enough alone:
 * - an `exit` hook on the real process (plain scripts that use this lib, a normal end of the test run);
 * - a watchdog child that holds the read end of a pipe: when this process dies for any reason (SIGKILL, a jest
 *   worker torn down, a crash) the pipe closes, and the watchdog SIGKILLs what is still registered and removes
 *   its temp dirs. Jest hands each test file a copy of `process` whose `exit` listeners never fire, so without
 *   the watchdog a failed suite would leave nats-servers running.
 * The watchdog lives only while something is registered.
 */

interface Leftover {
  pid: number;
  dir?: string;
}

// Runs as `node -e` (CommonJS). Reads JSON lines `{op:'add',pid,dir}` / `{op:'del',pid}`; on EOF kills and cleans.
const WATCHDOG_SOURCE = `
const fs = require('node:fs');
const live = new Map();
let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  for (let i = buffered.indexOf('\\n'); i >= 0; i = buffered.indexOf('\\n')) {
    const line = buffered.slice(0, i);
    buffered = buffered.slice(i + 1);
    try {
      const m = JSON.parse(line);
      if (m.op === 'add') live.set(m.pid, m.dir); else live.delete(m.pid);
    } catch {}
  }
});
process.stdin.on('end', () => {
  for (const [pid, dir] of live) {
    try { process.kill(pid, 'SIGKILL'); } catch {}
    if (dir) try { fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }); } catch {}
  }
  process.exit(0);
});
`;

const live = new Map<number, Leftover>();
let watchdog: ChildProcess | undefined;
let exitHookInstalled = false;

/**
 * Registers a started process (and the temp dir to remove with it) to be killed if this process dies first. A
 * negative pid is a process group (a child spawned `detached`, with everything it started).
 */
export function trackLeftover(pid: number, dir?: string): void {
  live.set(pid, { pid, dir });
  installExitHook();
  send({ op: 'add', pid, dir });
}

/** Forgets a process that was stopped normally. */
export function untrackLeftover(pid: number): void {
  if (!live.delete(pid)) return;
  send({ op: 'del', pid });
  if (live.size === 0 && watchdog) {
    // Closing the pipe with nothing registered makes the watchdog exit with nothing to do.
    watchdog.stdin?.end();
    watchdog = undefined;
  }
}

function send(message: { op: 'add' | 'del'; pid: number; dir?: string }): void {
  if (watchdog) {
    watchdog.stdin?.write(`${JSON.stringify(message)}\n`);
  } else if (message.op === 'add') {
    startWatchdog(); // registers everything live, this one included
  }
}

function startWatchdog(): void {
  // Detached: a Ctrl-C to the test's process group must not kill the watchdog before it has cleaned up.
  const dog = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  dog.on('error', () => undefined);
  dog.stdin?.on('error', () => undefined);
  // Neither the watchdog nor its pipe may keep the test process alive.
  dog.unref();
  (dog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  watchdog = dog;
  for (const l of live.values()) dog.stdin?.write(`${JSON.stringify({ op: 'add', pid: l.pid, dir: l.dir })}\n`);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const { pid, dir } of live.values()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      try {
        if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
      } catch {
        // busy: the watchdog tries again once this process is gone
      }
    }
  });
}
