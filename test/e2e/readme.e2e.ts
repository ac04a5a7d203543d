import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, repoRoot, trackLeftover, untrackLeftover, waitFor } from '@taskmesh/testing';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one of the README's scripts to its end (at most `timeoutMs`). */
const run = (script: string, args: string[], timeoutMs = 20_000): Promise<Run> =>
  new Promise((resolve) => {
    execFile(process.execPath, [join('scripts', script), ...args], { cwd: repoRoot(), timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });

// The README's first command, `npm run cluster`, and the CLIs it points to (`npm run call`, `npm run schedule`), run
// as a user would: the runner starts nats-server, the four apps and 2 workers; Ctrl-C stops them all.
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
    cluster = spawn(process.execPath, ['scripts/cluster.mjs', '--workers', '2', '--port', String(port), '--monitor-port', '0', '--http-port', '0', '--dir', dir, '--raw-logs'], {
      cwd: repoRoot(), detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackLeftover(-cluster.pid!, dir);
    exited = new Promise((resolve) => cluster.once('exit', (code) => resolve(code)));
    for (const stream of [cluster.stdout!, cluster.stderr!]) stream.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-200_000)));
    try {
      await waitFor(async () => (await run('call.mjs', ['echo', '{"hello":"mesh"}', '--url', url, '--timeout', '2000'], 5000)).code === 0, {
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

  it('npm run call: a result, and a failure with its code and exit status 1', async () => {
    const echo = await run('call.mjs', ['echo', '{"hello":"mesh"}', '--url', url]);
    expect(echo.code).toBe(0);
    expect(JSON.parse(echo.stdout)).toMatchObject({ state: 'SUCCESS', data: { result: { hello: 'mesh' } } });
    const fanout = await run('call.mjs', ['fanout', '{"count":3,"ms":200}', '--url', url]);
    expect(fanout.code).toBe(0);
    const cycle = await run('call.mjs', ['chain', '{"depth":2,"cycleTo":2}', '--url', url]);
    expect(cycle.code).toBe(1);
    expect(JSON.parse(cycle.stdout)).toMatchObject({ state: 'FAILURE', data: { failure: { code: 'CYCLE_DETECTED' } } });
  }, 30_000);

  it('npm run schedule: create --follow prints the occurrences; delete ends it; refusals say why', async () => {
    const follow = spawn(process.execPath, ['scripts/schedule.mjs', 'create', 'echo', '{"tick":true}', '--every', 'FREQ=SECONDLY;COUNT=2', '--duration', '300', '--id', 'readme', '--follow', '--url', url], {
      cwd: repoRoot(), stdio: ['ignore', 'pipe', 'pipe'],
    });
    let printed = '';
    follow.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    const followed = new Promise<number | null>((resolve) => follow.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => (printed.match(/ stopped occurrence /g) ?? []).length === 2, { timeoutMs: 15_000, what: `two occurrences; printed:\n${printed}` });
      expect(printed.match(/ started occurrence /g)).toHaveLength(2);
      expect(printed).toMatch(/ created\n/);
      const listed = await run('schedule.mjs', ['list', '--url', url]);
      expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: 'readme', task: 'echo', recurrence: 'FREQ=SECONDLY;COUNT=2' })]);
      expect((await run('schedule.mjs', ['delete', 'readme', '--url', url])).code).toBe(0);
      expect(await followed).toBe(0);
      expect(printed).toMatch(/ deleted\n/);
    } finally {
      follow.kill('SIGKILL');
    }
    const unknown = await run('schedule.mjs', ['create', 'nope', '--url', url]);
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringContaining('refused: UNKNOWN_TASK') });
    const never = await run('schedule.mjs', ['create', 'echo', '--every', 'FREQ=DAILY;COUNT=0', '--url', url]);
    expect(never).toMatchObject({ code: 1, stderr: expect.stringContaining('refused: VALIDATION_FAILED: recurrence') });
    expect((await run('schedule.mjs', ['create', 'echo', '--every', 'FREQ=DAILY', '--cron', '* * * * *', '--url', url])).code).toBe(2);
  }, 40_000);

  it('Ctrl-C stops every process it started, and it exits 0', async () => {
    process.kill(cluster.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    // The apps drained and exited before nats-server did, each logging so.
    for (const name of ['router', 'orchestrator', 'scheduler', 'worker-1', 'worker-2']) expect(output).toMatch(new RegExp(`${name}\\s*\\x1b\\[0m\\| exited \\(0\\)`));
    // Nothing is left in its process group, and nothing answers any more.
    expect(() => process.kill(-cluster.pid!, 0)).toThrow();
    expect((await run('call.mjs', ['echo', '--url', url, '--timeout', '500'], 5000)).code).toBe(2);
  }, 30_000);
});
