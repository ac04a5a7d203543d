import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import ts from 'typescript';
import { Role, ROLES } from '@taskmesh/protocol';
import { findNatsServer, NatsServerNotFoundError, permissionViolations, repoRoot, startNatsServer, waitFor, type NatsServer } from '@taskmesh/testing';

// Per-test deadline (ESM jest has no global `jest` object to set it once).
const T = 30_000;

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('startNatsServer', () => {
  let server: NatsServer;
  const connections: NatsConnection[] = [];
  const open = async (url: string, extra: Parameters<typeof connect>[0] = {}): Promise<NatsConnection> => {
    const nc = await connect({ servers: url, reconnect: false, ...extra });
    connections.push(nc);
    return nc;
  };

  beforeAll(async () => {
    server = await startNatsServer();
  }, T);

  afterEach(async () => {
    await Promise.all(connections.splice(0).map((nc) => nc.close()));
  }, T);

  afterAll(async () => {
    await server?.stop();
  }, T);

  it('serves core NATS and JetStream on a random loopback port', async () => {
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
    expect(isAlive(server.pid)).toBe(true);
    const nc = await open(server.url, server.login(Role.Admin));
    const sub = nc.subscribe('probe.echo', { max: 1 });
    nc.publish('probe.echo', 'hello');
    for await (const msg of sub) expect(msg.string()).toBe('hello');
    const jsm = await jetstreamManager(nc);
    expect((await jsm.getAccountInfo()).limits).toBeDefined();
    expect(readFileSync(server.logFile, 'utf8')).toMatch(/Server is ready/);
  }, T);

  it('requires a login by default: one user per role, with that role\'s permissions on the mesh', async () => {
    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
    await expect(connect({ servers: server.url, reconnect: false, user: 'caller', pass: 'wrong' })).rejects.toThrow(/Authorization Violation/i);
    for (const role of ROLES) {
      const nc = await open(server.url, server.login(role));
      await nc.flush();
    }
    expect(server.appEnv(Role.Worker)).toEqual({ NATS_URL: server.url, NATS_USER: 'worker', NATS_PASSWORD: server.login(Role.Worker).pass });
    // A caller calls the mesh, but may not touch a stream: the server refuses, and logs it.
    const caller = await open(server.url, { ...server.login(Role.Caller), name: 'refused-caller' });
    await expect(caller.request('mesh.call.echo', '{}', { timeout: 1_000 })).rejects.toThrow(/no responders/i);
    caller.publish('$JS.API.STREAM.DELETE.MESH_WORK', '');
    await caller.flush();
    await waitFor(() => permissionViolations({ logFiles: [server.logFile] }).some((l) => l.includes('$JS.API.STREAM.DELETE.MESH_WORK')), {
      timeoutMs: 5_000, what: 'the refused publish in the server log',
    });
    expect(permissionViolations({ logFiles: [server.logFile], except: /refused-caller|STREAM\.DELETE\.MESH_WORK/ })).toEqual([]);
  }, T);

  it('gives the roles the same rights on the other prefixes a test asks for; auth: false is anonymous', async () => {
    const other = await startNatsServer({ jetstream: false, auth: { prefixes: ['mesh', 'other'] } });
    const anonymous = await startNatsServer({ jetstream: false, auth: false });
    try {
      const caller = await open(other.url, { ...other.login(Role.Caller), name: 'two-prefix-caller' });
      for (const subject of ['mesh.call.echo', 'other.call.echo']) await expect(caller.request(subject, '{}', { timeout: 1_000 })).rejects.toThrow(/no responders/i);
      expect(permissionViolations({ logFiles: [other.logFile] })).toEqual([]);
      expect(() => anonymous.login(Role.Caller)).toThrow(/no generated users/);
      const nc = await open(anonymous.url);
      await nc.flush();
    } finally {
      await Promise.all([other.stop(), anonymous.stop()]);
    }
  }, T);

  it('keeps JetStream data across restart(), on the same port', async () => {
    const before = await open(server.url, server.login(Role.Admin));
    const jsm = await jetstreamManager(before);
    await jsm.streams.add({ name: 'KEEP', subjects: ['keep.>'], storage: 'file' });
    await jetstream(before).publish('keep.one', 'survives');
    await before.close();
    const { port, pid } = server;

    await server.restart();

    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(pid);
    expect(isAlive(pid)).toBe(false);
    const after = await open(server.url, server.login(Role.Admin));
    const stored = await (await jetstreamManager(after)).streams.getMessage('KEEP', { seq: 1 });
    expect(stored?.string()).toBe('survives');
  }, T);

  it('recovers with restart() after the process was killed (-9)', async () => {
    const pid = server.pid;
    server.kill('SIGKILL');
    await waitFor(() => !isAlive(pid), { timeoutMs: 5_000, what: `nats-server ${pid} to die` });
    await server.restart();
    const nc = await open(server.url, server.login(Role.Admin));
    const info = await (await jetstreamManager(nc)).streams.info('KEEP');
    expect(info.state.messages).toBe(1);
  }, T);

  it('appends extra config; an authorization block of the test\'s own replaces the generated users', async () => {
    const secured = await startNatsServer({
      config: 'authorization { users: [ { user: "alice", password: "s3cret" } ] }',
      jetstream: false,
    });
    try {
      await expect(connect({ servers: secured.url, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
      const nc = await open(secured.url, { user: 'alice', pass: 's3cret' });
      expect(nc.info?.jetstream).toBeFalsy();
      expect(secured.users).toBeUndefined();
    } finally {
      await secured.stop();
    }
  }, T);

  it('stop() kills the process, removes its temp dir, and is idempotent', async () => {
    const own = await startNatsServer();
    const { pid, dir } = own;
    expect(existsSync(own.storeDir)).toBe(true);
    await own.stop();
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    await own.stop();
    await expect(own.restart()).rejects.toThrow(/was stopped/);
  }, T);
});

describe('findNatsServer', () => {
  it('finds the binary on PATH', () => {
    expect(findNatsServer()).toMatch(/nats-server$/);
  }, T);

  it('fails with the install hint when nats-server is not on PATH', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'taskmesh-empty-path-'));
    try {
      await expect(startNatsServer({ searchPath: empty })).rejects.toThrow(NatsServerNotFoundError);
      await expect(startNatsServer({ searchPath: empty })).rejects.toThrow(/apt-get install -y nats-server/);
      expect(() => findNatsServer({ binary: join(empty, 'nats-server') })).toThrow(/nats\.io/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  }, T);
});

describe('leftover cleanup', () => {
  // The real situation: a test process dies (-9, jest worker torn down) while its nats-server runs.
  it('kills the nats-server and removes its dir when the process that started it is killed', async () => {
    const work = mkdtempSync(join(tmpdir(), 'taskmesh-orphan-'));
    try {
      // Run the testing lib in a plain node child: transpile its sources (they import node: modules and, for the
      // generated users, @taskmesh/protocol, linked from the repository's built package).
      const src = join(repoRoot(), 'libs/testing/src');
      mkdirSync(join(work, 'lib'));
      for (const file of readdirSync(src).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))) {
        const out = ts.transpileModule(readFileSync(join(src, file), 'utf8'), {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        });
        writeFileSync(join(work, 'lib', file.replace(/\.ts$/, '.js')), out.outputText);
      }
      mkdirSync(join(work, 'node_modules', '@taskmesh'), { recursive: true });
      symlinkSync(join(repoRoot(), 'libs/protocol'), join(work, 'node_modules', '@taskmesh', 'protocol'));
      writeFileSync(join(work, 'package.json'), '{"type":"module"}');
      writeFileSync(
        join(work, 'orphan.js'),
        "import { startNatsServer } from './lib/nats-server.js';\n"
          + 'const s = await startNatsServer();\n'
          + 'console.log(JSON.stringify({ pid: s.pid, dir: s.dir }));\n'
          + 'setInterval(() => {}, 1000);\n',
      );
      const child = spawn(process.execPath, [join(work, 'orphan.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const started = await waitFor(() => (out.includes('\n') ? (JSON.parse(out) as { pid: number; dir: string }) : undefined), {
        timeoutMs: 15_000,
        what: 'the orphan script to start its nats-server',
      });
      expect(isAlive(started.pid)).toBe(true);

      child.kill('SIGKILL');

      await waitFor(() => !isAlive(started.pid) && !existsSync(started.dir), {
        timeoutMs: 10_000,
        what: `the orphaned nats-server ${started.pid} to be killed and ${started.dir} removed`,
      });
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, T);
});

describe('waitFor', () => {
  it('returns the first truthy probe value', async () => {
    let calls = 0;
    await expect(waitFor(() => (++calls >= 3 ? `ready after ${calls}` : undefined), { timeoutMs: 2_000, intervalMs: 1, what: 'x' })).resolves.toBe('ready after 3');
  }, T);

  it('names what it waited for, and the last probe error, when it times out', async () => {
    await expect(
      waitFor(
        () => {
          throw new Error('not yet');
        },
        { timeoutMs: 100, what: 'the moon' },
      ),
    ).rejects.toThrow('Timed out after 100ms waiting for the moon (last probe error: not yet)');
  }, T);

  it('does not outlive its deadline when the probe hangs', async () => {
    const started = performance.now();
    await expect(waitFor(() => new Promise<boolean>(() => undefined), { timeoutMs: 100, what: 'a hung probe' })).rejects.toThrow(/Timed out after 100ms/);
    expect(performance.now() - started).toBeLessThan(1_000);
  }, T);
});
