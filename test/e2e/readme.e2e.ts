import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, PERMISSION_VIOLATION, repoRoot, trackLeftover, untrackLeftover, waitFor } from '@taskmesh/testing';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The `taskmesh` CLI as its bin runs it (`npx taskmesh`, `npm run call`). */
const CLI = 'libs/cli/dist/main.js';

/** The caller's credentials the runner wrote (`export $(cat <dir>/auth/caller.env)` in the README); none until it has. */
let callerEnv: Record<string, string> = {};

/** Runs `taskmesh <args>` to its end (at most `timeoutMs`), as the caller. */
const taskmesh = (args: string[], timeoutMs = 20_000, env: Record<string, string> = callerEnv): Promise<Run> =>
  new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: repoRoot(), timeout: timeoutMs, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });

// The README's first command, `npm run cluster`, and the CLI it points to (`npx taskmesh call`, `npx taskmesh dispatches`),
// run as a user would: the runner starts nats-server, the four apps, 2 workers and the dashboard; Ctrl-C stops them all.
describe('README: the local cluster, call and schedule', () => {
  let cluster: ChildProcess;
  let output = '';
  let url: string;
  let dir: string;
  let exited: Promise<number | null>;

  beforeAll(async () => {
    const port = await freePort();
    url = `nats://127.0.0.1:${port}`;
    dir = mkdtempSync(join(tmpdir(), 'taskmesh-cluster-'));
    // Its own process group, so that everything it started can be killed at once if the test dies.
    cluster = spawn(process.execPath, ['scripts/cluster.mjs', '--workers', '2', '--port', String(port), '--monitor-port', '0', '--http-port', '0', '--dashboard-port', '0', '--dir', dir, '--raw-logs'], {
      cwd: repoRoot(), detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackLeftover(-cluster.pid!, dir);
    exited = new Promise((resolve) => cluster.once('exit', (code) => resolve(code)));
    for (const stream of [cluster.stdout!, cluster.stderr!]) stream.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-200_000)));
    try {
      // The runner starts NATS with a user per role and writes the caller's credentials (auth on by default).
      const callerFile = join(dir, 'auth', 'caller.env');
      await waitFor(() => existsSync(callerFile), { timeoutMs: 30_000, what: 'the runner to write the caller credentials' });
      callerEnv = Object.fromEntries(readFileSync(callerFile, 'utf8').trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
      expect(Object.keys(callerEnv)).toEqual(['NATS_USER', 'NATS_PASSWORD']);
      await waitFor(async () => (await taskmesh(['call', 'echo', '{"hello":"mesh"}', '--server', url, '--timeout', '2000'], 5000)).code === 0, {
        timeoutMs: 45_000, intervalMs: 500, what: 'the cluster answering calls',
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}; the cluster's output:\n${output.slice(-3000)}`, { cause: err });
    }
  }, 60_000);

  afterAll(async () => {
    if (cluster?.exitCode === null && cluster.signalCode === null) {
      try {
        process.kill(-cluster.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    untrackLeftover(-(cluster?.pid ?? 0));
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  it('NATS refuses a client without the credentials the runner wrote (exit 77)', async () => {
    const anonymous = await taskmesh(['call', 'echo', '{}', '--server', url], 10_000, {});
    expect(anonymous.code).toBe(77);
    expect(anonymous.stderr).toMatch(/refused the credentials/);
  }, 20_000);

  it('taskmesh call: a result, and a failure with its code and the exit status of that code', async () => {
    const echo = await taskmesh(['call', 'echo', '{"hello":"mesh"}', '--server', url, '--json']);
    expect(echo.code).toBe(0);
    expect(JSON.parse(echo.stdout)).toEqual({ hello: 'mesh' });
    const fanout = await taskmesh(['call', 'fanout', '{"count":3,"ms":200}', '--server', url]);
    expect(fanout.code).toBe(0);
    const cycle = await taskmesh(['call', 'chain', '{"depth":2,"cycleTo":2}', '--server', url, '--json']);
    expect(cycle.code).toBe(16);
    expect(JSON.parse(cycle.stdout)).toMatchObject({ failure: { code: 'CYCLE_DETECTED' } });
  }, 30_000);

  it('taskmesh dispatches: create --follow prints the occurrences; delete ends it; refusals say why', async () => {
    const follow = spawn(process.execPath, [CLI, 'dispatches', 'create', 'echo', '{"tick":true}', '--every', 'FREQ=SECONDLY;COUNT=2', '--duration', '300', '--id', 'readme', '--follow', '--server', url], {
      cwd: repoRoot(), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...callerEnv },
    });
    let printed = '';
    follow.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const followed = new Promise<number | null>((resolve) => follow.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => (printed.match(/ stopped occurrence /g) ?? []).length === 2, { timeoutMs: 15_000, what: `two occurrences; printed:\n${printed}` });
      expect(printed.match(/ started occurrence /g)).toHaveLength(2);
      expect(printed).toMatch(/ created\n/);
      const listed = await taskmesh(['dispatches', 'list', '--server', url, '--json']);
      expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: 'readme', task: 'echo', recurrence: 'FREQ=SECONDLY;COUNT=2' })]);
      expect((await taskmesh(['dispatches', 'delete', 'readme', '--server', url])).code).toBe(0);
      expect(await followed).toBe(0);
      expect(printed).toMatch(/ deleted\n/);
    } finally {
      follow.kill('SIGKILL');
    }
    const unknown = await taskmesh(['dispatches', 'create', 'nope', '--server', url]);
    expect(unknown).toMatchObject({ code: 12, stderr: expect.stringContaining('taskmesh: UNKNOWN_TASK') });
    const never = await taskmesh(['dispatches', 'create', 'echo', '--every', 'FREQ=DAILY;COUNT=0', '--server', url]);
    expect(never).toMatchObject({ code: 11, stderr: expect.stringContaining('taskmesh: VALIDATION_FAILED: recurrence') });
    expect((await taskmesh(['dispatches', 'create', 'echo', '--every', 'FREQ=DAILY', '--cron', '* * * * *', '--server', url])).code).toBe(2);
  }, 40_000);

  it('prints the dashboard\'s URL; the dashboard, connected as its own role, serves the page and the live workers', async () => {
    const dashboard = await waitFor(() => /cluster: dashboard on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1], { timeoutMs: 20_000, what: 'the dashboard URL' });
    expect(await (await fetch(`${dashboard}/`)).text()).toMatch(/<script type="module" src="main.js">/);
    const workers = await waitFor(async () => {
      const view = (await (await fetch(`${dashboard}/api/workers`)).json()) as { workers?: Array<{ id: string }> };
      return view.workers?.length === 2 && view.workers.map((w) => w.id).sort();
    }, { timeoutMs: 10_000, what: 'the dashboard to list both workers' });
    expect(workers).toEqual(['worker-1', 'worker-2']);
    // Its role may read the invocations and every app's $SRV.STATS (docs/PROTOCOL.md section 10).
    expect((await fetch(`${dashboard}/api/invocations?task=echo`)).status).toBe(200);
    const services = await waitFor(async () => {
      const { samples } = (await (await fetch(`${dashboard}/api/stats`)).json()) as { samples: Array<{ services: Array<{ service: string }> }> };
      return samples.at(-1)?.services.map((x) => x.service);
    }, { timeoutMs: 10_000, what: 'a stats sample' });
    expect(services).toEqual(['taskmesh-orchestrator', 'taskmesh-router', 'taskmesh-scheduler', 'taskmesh-worker']);
  }, 30_000);

  it('Ctrl-C stops every process it started, and it exits 0', async () => {
    process.kill(cluster.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    // The apps drained and exited before nats-server did, each logging so.
    for (const name of ['router', 'orchestrator', 'scheduler', 'worker-1', 'worker-2', 'dashboard']) expect(output).toMatch(new RegExp(`${name}\\s*\\x1b\\[0m\\| exited \\(0\\)`));
    // Nothing is left in its process group, and nothing answers any more.
    expect(() => process.kill(-cluster.pid!, 0)).toThrow();
    expect((await taskmesh(['call', 'echo', '--server', url, '--timeout', '500'], 5000)).code).toBe(69);
    // Every app did what it had to as its own role: nats-server and the apps (all in the runner's output) logged
    // no permission violation.
    expect(output.split('\n').filter((line) => PERMISSION_VIOLATION.test(line))).toEqual([]);
  }, 30_000);
});
