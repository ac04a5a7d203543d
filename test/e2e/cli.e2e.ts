import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Role, type InvocationRecord } from '@taskmesh/protocol';
import { freePort, repoRoot, trackLeftover, untrackLeftover, waitFor } from '@taskmesh/testing';
import { startMesh, type Mesh } from './support/mesh-fixture.js';

/** The built CLI, run as its bin would be. */
const CLI = join(repoRoot(), 'libs/cli/dist/main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `taskmesh <args>` to its end (at most `timeoutMs`), with `env` on top of this process's (no NATS_* of ours). */
const taskmesh = (args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<Run> =>
  new Promise((resolve) => {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('NATS_') && name !== 'MESH_PREFIX'));
    execFile(process.execPath, [CLI, ...args], { cwd: repoRoot(), env: { ...inherited, ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });

// The `taskmesh` CLI (libs/cli) against a real mesh: nats-server, a router, an orchestrator, a scheduler and two
// workers as processes. Every --json output is parsed; exit statuses are the documented ones (`taskmesh --help`).
describe('taskmesh CLI', () => {
  let mesh: Mesh;
  let env: Record<string, string>;

  beforeAll(async () => {
    mesh = await startMesh({ workers: 2, orchestrators: 1, schedulers: 1 });
    // The CLI is a caller: NATS_URL, NATS_USER and NATS_PASSWORD of the caller role.
    env = mesh.server.appEnv(Role.Caller);
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  it('call prints the result (--json: the result as one document) and exits 0', async () => {
    const json = await taskmesh(['call', 'echo', '{"hello":"mesh"}', '--json'], env);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toEqual({ hello: 'mesh' });
    const text = await taskmesh(['call', 'echo', '{"hello":"mesh"}'], env);
    expect(text).toMatchObject({ code: 0, stdout: '{\n  "hello": "mesh"\n}\n' });
    const direct = await taskmesh(['call', 'ping', '--json', '--delivery', 'direct'], env);
    expect(JSON.parse(direct.stdout)).toMatchObject({ pong: true, worker: expect.stringMatching(/^w[12]$/) });
  }, 30_000);

  it('a failure exits with its code\'s status: CYCLE_DETECTED 16, TASK_FAILED 14, UNKNOWN_TASK 12', async () => {
    const cycle = await taskmesh(['call', 'chain', '{"depth":2,"cycleTo":2}', '--json'], env);
    expect(cycle.code).toBe(16);
    expect(JSON.parse(cycle.stdout)).toEqual({ failure: expect.objectContaining({ code: 'CYCLE_DETECTED', retryable: false }) });
    const failed = await taskmesh(['call', 'fail', '{"message":"no luck"}'], env);
    expect(failed).toMatchObject({ code: 14, stdout: '' });
    expect(failed.stderr).toMatch(/^taskmesh: TASK_FAILED: no luck\n/);
    expect((await taskmesh(['call', 'no-such-task', '--timeout', '1000'], env)).code).toBe(12);
  }, 30_000);

  it('submit, wait, get, events and invocations speak of the same invocation', async () => {
    const submitted = await taskmesh(['submit', 'sleep', '{"ms":300,"steps":3}', '--id', 'cli-job-1', '--json'], env);
    expect(submitted.code).toBe(0);
    expect(JSON.parse(submitted.stdout)).toEqual({ id: 'cli-job-1' });
    const waited = await taskmesh(['wait', 'cli-job-1', '--json'], env);
    expect(waited.code).toBe(0);
    expect(JSON.parse(waited.stdout)).toMatchObject({ invocationId: 'cli-job-1', attempt: 1, worker: expect.stringMatching(/^w[12]$/) });
    const record = JSON.parse((await taskmesh(['get', 'cli-job-1', '--json'], env)).stdout) as InvocationRecord;
    expect(record).toMatchObject({ id: 'cli-job-1', task: 'sleep', state: 'SUCCESS', attempts: 1 });
    // The events from the first, one JSON object per line, ending with the outcome.
    const events = await taskmesh(['events', 'cli-job-1', '--json'], env);
    expect(events.code).toBe(0);
    const lines = events.stdout.trim().split('\n').map((line) => JSON.parse(line) as { state: string; data?: { details?: unknown } });
    expect(lines.map((l) => l.state)).toEqual(expect.arrayContaining(['RUNNING', 'EVENT', 'SUCCESS']));
    expect(lines.at(-1)!.state).toBe('SUCCESS');
    expect(lines.filter((l) => l.state === 'EVENT').map((l) => l.data?.details)).toEqual([{ step: 1, steps: 3 }, { step: 2, steps: 3 }, { step: 3, steps: 3 }]);
    const listed = JSON.parse((await taskmesh(['invocations', '--task', 'sleep', '--json'], env)).stdout) as InvocationRecord[];
    expect(listed.map((r) => r.id)).toContain('cli-job-1');
    expect(listed.every((r) => r.task === 'sleep')).toBe(true);
    // A table for people.
    expect((await taskmesh(['invocations', '--task', 'sleep'], env)).stdout).toMatch(/│ cli-job-1 +│ sleep │ SUCCESS │/);
    expect((await taskmesh(['get', 'no-such-invocation'], env)).code).toBe(19);
  }, 40_000);

  it('wait --timeout exits 75 while it runs; cancel stops it; its events end CANCELLED (15)', async () => {
    expect((await taskmesh(['submit', 'sleep', '{"ms":20000}', '--id', 'cli-job-2'], env)).stdout).toBe('cli-job-2\n');
    await waitFor(async () => JSON.parse((await taskmesh(['get', 'cli-job-2', '--json'], env)).stdout).state === 'RUNNING', { timeoutMs: 10_000, what: 'cli-job-2 running' });
    const still = await taskmesh(['wait', 'cli-job-2', '--timeout', '300', '--json'], env);
    expect(still.code).toBe(75);
    expect(JSON.parse(still.stdout)).toEqual({ id: 'cli-job-2', state: 'RUNNING' });
    const cancelled = await taskmesh(['cancel', 'cli-job-2', '--json'], env);
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ id: 'cli-job-2', state: expect.stringMatching(/^(RUNNING|FAILURE)$/) });
    expect((await taskmesh(['wait', 'cli-job-2'], env)).code).toBe(15);
    const events = await taskmesh(['events', 'cli-job-2'], env);
    expect(events.code).toBe(15);
    expect(events.stdout).toMatch(/FAILURE .*CANCELLED: /);
  }, 40_000);

  it('workers lists the live workers', async () => {
    const workers = JSON.parse((await taskmesh(['workers', '--json'], env)).stdout) as Array<{ id: string; tasks: string[] }>;
    expect(workers.map((w) => w.id).sort()).toEqual(['w1', 'w2']);
    expect(workers[0]!.tasks).toEqual(expect.arrayContaining(['echo', 'sleep']));
    expect((await taskmesh(['workers'], env)).stdout).toMatch(/│ w[12] +│ .*echo/);
  }, 20_000);

  it('dispatches create, list, get and delete; a refusal exits with its code', async () => {
    const created = await taskmesh(['dispatches', 'create', 'echo', '{"tick":true}', '--every', 'FREQ=DAILY', '--in', '3600000', '--id', 'cli-d', '--json'], env);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ id: 'cli-d', task: 'echo', args: { tick: true }, recurrence: 'FREQ=DAILY', active: true });
    expect(JSON.parse((await taskmesh(['dispatches', 'list', '--json'], env)).stdout)).toEqual([expect.objectContaining({ id: 'cli-d' })]);
    expect(JSON.parse((await taskmesh(['dispatches', 'get', 'cli-d', '--json'], env)).stdout)).toMatchObject({ id: 'cli-d', misfire: 'skip' });
    expect(JSON.parse((await taskmesh(['dispatches', 'delete', 'cli-d', '--json'], env)).stdout)).toEqual({ id: 'cli-d', deleted: true });
    expect((await taskmesh(['dispatches', 'get', 'cli-d'], env)).code).toBe(19);
    const never = await taskmesh(['dispatches', 'create', 'echo', '--every', 'FREQ=DAILY;COUNT=0'], env);
    expect(never.code).toBe(11);
    expect(never.stderr).toMatch(/^taskmesh: VALIDATION_FAILED: .*recurrence/);
  }, 30_000);

  it('dispatches create --follow prints its occurrences until it is deleted', async () => {
    const follow = taskmesh(['dispatches', 'create', 'echo', '--every', 'FREQ=SECONDLY;COUNT=2', '--duration', '300', '--id', 'cli-f', '--follow', '--json'], env, 20_000);
    await waitFor(async () => {
      const list = JSON.parse((await taskmesh(['dispatches', 'list', '--json'], env)).stdout) as Array<{ id: string }>;
      return list.some((d) => d.id === 'cli-f');
    }, { timeoutMs: 10_000, what: 'cli-f created' });
    // Both occurrences stopped: the scheduler's invocation records say so; then delete ends the follow.
    await waitFor(async () => {
      const records = JSON.parse((await taskmesh(['invocations', '--task', 'echo', '--state', 'SUCCESS', '--json'], env)).stdout) as InvocationRecord[];
      return records.filter((r) => r.id.includes('cli-f')).length >= 2;
    }, { timeoutMs: 15_000, what: 'two occurrences of cli-f run' });
    expect((await taskmesh(['dispatches', 'delete', 'cli-f'], env)).code).toBe(0);
    const followed = await follow;
    expect(followed.code).toBe(0);
    const lines = followed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { id?: string; event?: string });
    expect(lines[0]).toMatchObject({ id: 'cli-f' });
    expect(lines.slice(1).map((e) => e.event)).toEqual(expect.arrayContaining(['started', 'started', 'deleted']));
    expect(lines.at(-1)!.event).toBe('deleted');
  }, 40_000);

  it('deadletters lists what was dead-lettered', async () => {
    // Forged on the work stream, as the admin (only the router queues work).
    await jetstream(mesh.admin).publish('mesh.work.echo', '{"this is":"not a REQUEST"}');
    const letter = await waitFor(async () => {
      const letters = JSON.parse((await taskmesh(['deadletters', '--limit', '10', '--json'], env)).stdout) as Array<{ task: string; reason: string; body: unknown }>;
      return letters.find((d) => d.task === 'invalid');
    }, { timeoutMs: 10_000, what: 'the invalid message among the dead letters' });
    expect(letter.reason).toMatch(/^invalid request: /);
    expect(letter.body).toEqual({ 'this is': 'not a REQUEST' });
  }, 20_000);

  it('deadletters redrive puts a dead letter back, and story tells both runs (--json parsed)', async () => {
    // `fail` until attempt 4: its 3 attempts fail, it is dead-lettered; the redrive runs it as attempt 4.
    expect((await taskmesh(['submit', 'fail', '{"retryable":true,"untilAttempt":4}', '--id', 'cli-dead-1'], env)).code).toBe(0);
    await waitFor(async () => {
      const letters = JSON.parse((await taskmesh(['deadletters', '--json'], env)).stdout) as Array<{ body: { id?: string } }>;
      return letters.some((d) => d.body.id === 'cli-dead-1');
    }, { timeoutMs: 20_000, what: 'cli-dead-1 dead-lettered' });
    const redrive = await taskmesh(['deadletters', 'redrive', 'cli-dead-1', '--json'], env);
    expect(redrive.code).toBe(0);
    expect(JSON.parse(redrive.stdout)).toEqual({ redriven: ['cli-dead-1'], skipped: [] });
    expect(JSON.parse((await taskmesh(['wait', 'cli-dead-1', '--json'], env)).stdout)).toEqual({ attempt: 4 });
    const story = await taskmesh(['story', 'cli-dead-1', '--json'], env);
    expect(story.code).toBe(0);
    const { entries } = JSON.parse(story.stdout) as { entries: Array<{ attempt?: number; type: string }> };
    expect(new Set(entries.map((e) => e.attempt).filter((a) => a !== undefined))).toEqual(new Set([1, 2, 3, 4]));
    expect((await taskmesh(['story', 'cli-dead-1'], env)).stdout).toMatch(/│ work-received\s+│/);
    const again = await taskmesh(['deadletters', 'redrive', 'cli-dead-1'], env);
    expect(again).toMatchObject({ code: 0, stdout: 'skipped  cli-dead-1: no dead letter of this invocation\n' });
    expect((await taskmesh(['deadletters', 'redrive'], env)).code).toBe(2);
  }, 60_000);

  it('the package\'s bin runs the built CLI', async () => {
    const manifest = JSON.parse(readFileSync(join(repoRoot(), 'libs/cli/package.json'), 'utf8')) as { version: string; bin: { taskmesh: string } };
    // Executed as a shell would (its #! line and mode), not through node.
    const version = execFileSync(join(repoRoot(), 'libs/cli', manifest.bin.taskmesh), ['--version'], { encoding: 'utf8' });
    expect(version.trim()).toBe(manifest.version);
  });

  it('a bad flag prints the command\'s help and exits 2; an unreachable server exits 69', async () => {
    const bad = await taskmesh(['call', 'echo', '--bogus'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("error: unknown option '--bogus'");
    expect(bad.stderr).toContain('Usage: taskmesh call [options] <task> [args]');
    expect(bad.stderr).toContain('Examples:');
    const port = await freePort();
    const down = await taskmesh(['call', 'echo', '--server', `nats://127.0.0.1:${port}`], {}, 15_000);
    expect(down.code).toBe(69);
    expect(down.stderr).toContain(`nats://127.0.0.1:${port}`);
  }, 30_000);

  // A person at a terminal: tmux gives the CLI a real pseudo-terminal, and its screen is read with capture-pane.
  it('call on a terminal shows a bar fed by the progress events that reaches 100% at SUCCESS', async () => {
    const socket = `taskmesh-cli-${process.pid}`;
    const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
    const { user, pass } = mesh.server.login(Role.Caller);
    const command = `${process.execPath} ${CLI} call sleep '{"ms":1500,"steps":5}' --server ${mesh.server.url} --user ${user} --password ${pass}; echo "[exit $?]"; read`;
    tmux('new-session', '-d', '-s', 'cli', '-x', '120', '-y', '20', command);
    const serverPid = Number(tmux('display-message', '-p', '#{pid}').trim());
    trackLeftover(serverPid);
    try {
      let last = '';
      const screen = (): string => (last = tmux('capture-pane', '-p', '-t', 'cli'));
      const onScreen = <T>(probe: () => T, what: string): Promise<NonNullable<T>> =>
        waitFor(probe, { timeoutMs: 15_000, intervalMs: 50, what }).catch((err: Error) => {
          throw new Error(`${err.message}; the screen:\n${last}`);
        }) as Promise<NonNullable<T>>;
      // Part way: the bar moved with the events before the outcome.
      const partWay = await onScreen(() => /sleep .* \d+% \| [1-4]\/5 \| RUNNING/.exec(screen())?.[0], 'the bar part way');
      expect(partWay).toMatch(/(20|40|60|80)% \| [1-4]\/5/);
      const done = await onScreen(() => (screen().includes('[exit ') ? last : undefined), 'the end of the call');
      expect(done).toMatch(/sleep .* 100% \| 5\/5 \| SUCCESS/);
      expect(done).toContain('[exit 0]');
      expect(done).toMatch(/"invocationId": "/);
    } finally {
      try {
        tmux('kill-server');
      } catch {
        // gone already
      }
      untrackLeftover(serverPid);
    }
  }, 40_000);
});
