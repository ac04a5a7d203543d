// `npm run cluster -- --nats-nodes 3`, run as a user would (like test/e2e/readme.e2e.ts does for one node): the
// runner starts 3 nats-servers clustered on loopback with auth on, the apps on every node with MESH_REPLICAS=3, and
// Ctrl-C stops it all. Its plan is scripts/cluster-plan.mjs; the failure model is in docs/ARCHITECTURE.md.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { repoRoot, trackLeftover, untrackLeftover, waitFor } from '@taskmesh/testing';

const NODES = 3;
const CLI = 'libs/cli/dist/main.js';

/** True when nothing listens on 127.0.0.1:`port`. */
const isFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/**
 * `count` consecutive free ports (the runner puts node i on base + i - 1), none of them in `taken`. Below the
 * ephemeral range (32768 and up on Linux), so that no outgoing connection takes one before the nodes bind it.
 */
async function freePortRun(count: number, taken: number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 20_000 + randomInt(12_000);
    const run = Array.from({ length: count }, (_, i) => base + i);
    if (run.some((p) => taken.includes(p))) continue;
    if ((await Promise.all(run.map(isFree))).every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

const envFile = (path: string): Record<string, string> =>
  Object.fromEntries(readFileSync(path, 'utf8').trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));

describe('npm run cluster -- --nats-nodes 3', () => {
  let runner: ChildProcess;
  let output = '';
  let dir: string;
  let urls: string;
  let exited: Promise<number | null>;

  /** Runs `taskmesh <args>` as the caller the runner wrote; resolves its exit code and stdout. */
  const taskmesh = (args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string }> =>
    new Promise((resolve) => {
      const env = { ...process.env, ...envFile(join(dir, 'auth', 'caller.env')) };
      execFile(process.execPath, [CLI, ...args, '--server', urls], { cwd: repoRoot(), timeout: timeoutMs, env }, (err, stdout) => {
        resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0, stdout });
      });
    });

  beforeAll(async () => {
    const port = await freePortRun(NODES);
    const clusterPort = await freePortRun(NODES, Array.from({ length: NODES }, (_, i) => port + i));
    urls = Array.from({ length: NODES }, (_, i) => `nats://127.0.0.1:${port + i}`).join(',');
    dir = mkdtempSync(join(tmpdir(), 'taskmesh-cluster3-'));
    // Its own process group, so that everything it started can be killed at once if the test dies.
    runner = spawn(process.execPath, ['scripts/cluster.mjs', '--nats-nodes', String(NODES), '--workers', '1', '--port', String(port),
      '--cluster-port', String(clusterPort), '--monitor-port', '0', '--http-port', '0', '--dir', dir, '--raw-logs'], {
      cwd: repoRoot(), detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    trackLeftover(-runner.pid!, dir);
    exited = new Promise((resolve) => runner.once('exit', (code) => resolve(code)));
    for (const stream of [runner.stdout!, runner.stderr!]) stream.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-200_000)));
    try {
      const died = exited.then((code) => Promise.reject(new Error(`the runner exited (${code}) before the cluster answered`)));
      await Promise.race([died, (async () => {
        await waitFor(() => existsSync(join(dir, 'auth', 'caller.env')), { timeoutMs: 30_000, what: 'the runner to write the caller credentials' });
        await waitFor(async () => (await taskmesh(['call', 'echo', '{}', '--timeout', '2000'], 5000)).code === 0, {
          timeoutMs: 90_000, intervalMs: 500, what: 'the cluster answering calls',
        });
      })()]);
    } catch (err) {
      throw new Error(`${(err as Error).message}; the runner's output:\n${output.slice(-3000)}`, { cause: err });
    }
  }, 150_000);

  afterAll(async () => {
    if (runner?.exitCode === null && runner.signalCode === null) {
      try {
        process.kill(-runner.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    untrackLeftover(-(runner?.pid ?? 0));
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 20_000);

  it('says it runs 3 clustered nodes, and calls go through them', async () => {
    expect(output).toContain(`cluster: ${urls} (3 nodes clustered, MESH_REPLICAS=3)`);
    for (const name of ['nats-1', 'nats-2', 'nats-3']) expect(output).toMatch(new RegExp(`${name}\\s*\\x1b\\[0m\\| .*Server is ready`));
    const echo = await taskmesh(['call', 'echo', '{"on":"3 nodes"}', '--json']);
    expect(echo.code).toBe(0);
    expect(JSON.parse(echo.stdout)).toEqual({ on: '3 nodes' });
  }, 30_000);

  it('every stream and bucket has 3 replicas, one on each node', async () => {
    const admin = envFile(join(dir, 'auth', 'admin.env'));
    const nc: NatsConnection = await connect({ servers: urls.split(','), user: admin.NATS_USER, pass: admin.NATS_PASSWORD });
    try {
      const jsm = await jetstreamManager(nc);
      for (const name of ['MESH_WORK', 'MESH_EVENTS', 'MESH_DLQ', 'KV_MESH_INVOCATIONS', 'KV_MESH_TASKS']) {
        const info = await jsm.streams.info(name);
        const peers = [info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)].sort();
        expect([name, info.config.num_replicas, peers]).toEqual([name, 3, ['nats-1', 'nats-2', 'nats-3']]);
      }
    } finally {
      await nc.close();
    }
  }, 30_000);

  it('Ctrl-C stops every process it started, nats-servers last, and it exits 0', async () => {
    process.kill(runner.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    for (const name of ['router', 'orchestrator', 'scheduler', 'worker-1']) expect(output).toMatch(new RegExp(`${name}\\s*\\x1b\\[0m\\| exited \\(0\\)`));
    // Every app had exited before the first nats-server was told to stop.
    const lastApp = Math.max(...['router', 'orchestrator', 'scheduler', 'worker-1'].map((n) => output.search(new RegExp(`${n}\\s*\\x1b\\[0m\\| exited`))));
    const firstNats = Math.min(...['nats-1', 'nats-2', 'nats-3'].map((n) => output.search(new RegExp(`${n}\\s*\\x1b\\[0m\\| exited`))));
    expect(firstNats).toBeGreaterThan(lastApp);
    expect(() => process.kill(-runner.pid!, 0)).toThrow();
  }, 40_000);
});
