import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChildAppProcess, ProcessGroup, repoRoot, spawnApp, startNatsServer, waitFor } from '@taskmesh/testing';

const T = 30_000;
const FAKE = 'test/integration/fixtures/fake-app.mjs';

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe(ChildAppProcess.name, () => {
  const group = new ProcessGroup();

  afterAll(async () => {
    await group.stopAll(2_000);
  }, T);

  it('runs the entry from the repository root with process.env plus env, and captures stdout and stderr lines', async () => {
    const app = group.add(spawnApp('worker', { FAKE_GREETING: 'hi' }, { entry: FAKE, name: 'fake-1' }));
    expect(app.name).toBe('fake-1');
    const line = await app.waitForLine(/"fake started"/, 5_000);
    expect(JSON.parse(line)).toMatchObject({ greeting: 'hi', pid: app.pid });
    await app.waitForLine(/a line on stderr/, 5_000);
    const from = app.lineCount();
    const beat = await app.waitForLine(/"beat"/, 5_000, from);
    expect(app.lines().indexOf(beat)).toBeGreaterThanOrEqual(from);
    const exit = await app.stop(5_000);
    expect(exit).toEqual({ code: 0, signal: null, forced: false });
    expect(app.lines().at(-1)).toBe('{"msg":"bye"}');
  }, T);

  it('stop() escalates to SIGKILL when SIGTERM is ignored', async () => {
    const app = group.add(spawnApp('router', { FAKE_IGNORE_SIGTERM: '1' }, { entry: FAKE }));
    await app.waitForLine(/"fake started"/, 5_000);
    const exit = await app.stop(300);
    expect(exit).toEqual({ code: null, signal: 'SIGKILL', forced: true });
    expect(app.lines().some((l) => l.includes('SIGTERM received'))).toBe(true);
    expect(isAlive(app.pid)).toBe(false);
  }, T);

  it('waitForLine rejects when the process exits first, naming it', async () => {
    const app = spawnApp('scheduler', { FAKE_EXIT_CODE: '3' }, { entry: FAKE, name: 'quitter' });
    await expect(app.waitForLine(/never logged/, 5_000)).rejects.toThrow(/quitter exited \(3\) before logging/);
    await expect(app.exited).resolves.toEqual({ code: 3, signal: null });
  }, T);

  it('waitForLine times out with the last lines in the message', async () => {
    const app = group.add(spawnApp('orchestrator', {}, { entry: FAKE }));
    await expect(app.waitForLine(/never logged/, 200)).rejects.toThrow(/Timed out after 200ms waiting for orchestrator to log .*fake started/s);
  }, T);

  it('says to build first when the app is not built', () => {
    expect(() => spawnApp('worker', {}, { entry: 'dist/apps/nope/main.js' })).toThrow(/npm run build/);
  });

  it('finds the repository root', () => {
    // Wherever the checkout lives (CI clones into a temp dir): the root is where this repo's package.json is.
    expect(JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')).name).toBe('taskmesh');
  });
});

describe(ProcessGroup.name, () => {
  it('stops apps and servers together', async () => {
    const group = new ProcessGroup();
    const server = group.add(await startNatsServer({ jetstream: false }));
    const apps = [1, 2, 3].map((i) => group.add(spawnApp('worker', { FAKE_IGNORE_SIGTERM: i === 3 ? '1' : '0' }, { entry: FAKE, name: `w${i}` })));
    await Promise.all(apps.map((a) => a.waitForLine(/"fake started"/, 5_000)));
    const pids = [server.pid, ...apps.map((a) => a.pid)];
    await group.stopAll(300);
    await waitFor(() => pids.every((pid) => !isAlive(pid)), { timeoutMs: 5_000, what: 'every member to be gone' });
  }, T);
});
