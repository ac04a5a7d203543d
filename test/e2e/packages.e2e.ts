// The published packages as a user gets them: `npm pack` every published workspace package, install the tarballs into
// an empty project outside the repository (its own package.json, TypeScript from the registry, nothing else), then
// type-check and run code there against a real cluster (nats-server and the apps from dist/). Run `npm run build`
// first (`npm run test:e2e` does): the tarballs hold the packages' dist/.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Role } from '@taskmesh/protocol';
import { ChildAppProcess, repoRoot, waitFor, type AppProcess } from '@taskmesh/testing';
import { startMesh, type Mesh } from './support/mesh-fixture.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  exports?: Record<string, Record<string, string>>;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** One entry of `npm pack --json`. */
interface Packed {
  name: string;
  filename: string;
  files: { path: string }[];
}

/** A tsc diagnostic: `file(line,col): error TScode: message` (the lines under it are its explanation). */
interface Diagnostic {
  file: string;
  line: number;
  code: string;
  text: string;
}

const root = repoRoot();
const readManifest = (path: string): Manifest => JSON.parse(readFileSync(path, 'utf8')) as Manifest;
const rootManifest = readManifest(join(root, 'package.json'));
const published = readdirSync(join(root, 'libs'))
  .filter((lib) => existsSync(join(root, 'libs', lib, 'package.json')))
  .map((lib) => ({ lib, manifest: readManifest(join(root, 'libs', lib, 'package.json')) }))
  .filter(({ manifest }) => !manifest.private);

// The parent npm (`npm run test:e2e`) exports its config as npm_* variables; the consumer's npm must not inherit them.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_'))) as Record<string, string>;

/** Runs a command to its end (killed after `timeoutMs`); never rejects. */
function run(command: string, args: string[], cwd: string, timeoutMs: number, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: { ...cleanEnv, npm_config_update_notifier: 'false', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => (stderr += `\n[spawn error] ${err.message}`));
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command that must succeed: a failure throws with everything it printed. */
async function mustRun(command: string, args: string[], cwd: string, timeoutMs: number, env: Record<string, string> = {}): Promise<Run> {
  const result = await run(command, args, cwd, timeoutMs, env);
  if (result.code !== 0) {
    throw new Error(`\`${command} ${args.join(' ')}\` in ${cwd} exited ${result.code ?? 'on timeout'}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
  return result;
}

/** The tsc diagnostics in its output, with the explanation lines that follow each. */
function diagnostics(output: string): Diagnostic[] {
  const found: Diagnostic[] = [];
  for (const line of output.split('\n')) {
    const m = /^(\S+\.ts)\((\d+),\d+\): error (TS\d+): (.*)$/.exec(line);
    if (m) found.push({ file: m[1]!, line: Number(m[2]), code: m[3]!, text: m[4]! });
    else if (found.length > 0 && line.startsWith(' ')) found[found.length - 1]!.text += `\n${line.trim()}`;
  }
  return found;
}

/** The packages whose README's TypeScript examples are compiled in the consumer project. */
const READMES = ['libs/worker/README.md', 'libs/client/README.md'];

/**
 * The ```ts blocks of a README as files: a block whose first line is `// <name>.ts` is that file (so one example can
 * import another), any other is `readme-<package>-<n>.ts`. Blocks indented in a list are un-indented.
 */
function readmeExamples(readme: string): { file: string; source: string }[] {
  const text = readFileSync(join(root, readme), 'utf8');
  const lib = readme.split('/')[1]!;
  return [...text.matchAll(/^( *)```ts\n([\s\S]*?)^ *```$/gm)].map((m, i) => {
    const indent = m[1]!.length;
    const source = m[2]!.split('\n').map((line) => line.slice(Math.min(indent, line.length - line.trimStart().length))).join('\n');
    const named = /^\/\/ ([\w.-]+\.ts)\n/.exec(source);
    return { file: named ? named[1]! : `readme-${lib}-${i + 1}.ts`, source };
  });
}

/** A file that must not compile, and what tsc must say about it. */
interface MustFail {
  file: string;
  source: string;
  code: string;
  says: string;
}

// The consumer's own files that must fail to compile, written here (they would break the repository's typecheck).
const mustFail: MustFail[] = [
  {
    file: 'wrong-handler.ts',
    code: 'TS1241',
    says: "Types of parameters 'args' and 'args' are incompatible",
    source: [
      "import { Injectable } from '@nestjs/common';",
      "import { Task } from '@taskmesh/worker';",
      "import { greetTask } from './greet.task.js';",
      '',
      '@Injectable()',
      'export class WrongGreeter {',
      '  // greet takes { name: string }: a handler taking a number for it does not implement the definition',
      '  @Task(greetTask)',
      "  greet(args: { name: number }): { greeting: string; worker: string } {",
      "    return { greeting: String(args.name), worker: '' };",
      '  }',
      '}',
      '',
    ].join('\n'),
  },
  {
    file: 'wrong-args.ts',
    code: 'TS2769',
    // No overload matches: the typed one (TaskDef<GreetArgs, Greeting>, GreetArgs) says why.
    says: "Overload 1 of 2, '(task: TaskDef<GreetArgs, Greeting>, args: GreetArgs, options?: CallOptions | undefined): Promise<Greeting>', gave the following error.\nType 'number' is not assignable to type 'string'",
    source: [
      "import { MeshClient } from '@taskmesh/client';",
      "import { greetTask } from './greet.task.js';",
      '',
      'const client = await MeshClient.connect();',
      '// greet takes { name: string }',
      'await client.call(greetTask, { name: 42 });',
      '',
    ].join('\n'),
  },
];

describe('packages: packed, installed into an empty project, used there', () => {
  let work: string;
  let app: string;
  let packed: Packed[] = [];
  let tsc: Run;
  let mesh: Mesh | undefined;
  const processes: AppProcess[] = [];
  const compiledExamples: { readme: string; file: string }[] = [];
  const timings: Record<string, number> = {};
  const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
    const start = Date.now();
    try {
      return await fn();
    } finally {
      timings[step] = Date.now() - start;
    }
  };

  /** Starts `node out/<script>.js` in the consumer project with `env` on top of the environment. */
  const startConsumerProcess = (name: string, script: string, env: Record<string, string>): AppProcess => {
    const child = spawn(process.execPath, [join('out', script)], { cwd: app, env: { ...cleanEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const started = new ChildAppProcess(name, child, {});
    processes.push(started);
    return started;
  };

  /** Runs `node <script> ...args` in the consumer project against the cluster; resolves its one line of JSON output. */
  const runConsumerScript = async <T>(script: string, args: string[] = []): Promise<T> => {
    const result = await mustRun(process.execPath, [script, ...args], app, 60_000, mesh!.server.appEnv(Role.Caller));
    try {
      return JSON.parse(result.stdout) as T;
    } catch {
      throw new Error(`node ${script} ${args.join(' ')} printed no JSON:\n${result.stdout}${result.stderr}`);
    }
  };

  const prepareConsumer = async (): Promise<void> => {
    for (const { lib, manifest } of published) {
      for (const target of Object.values(manifest.exports ?? {}).flatMap((c) => Object.values(c)).filter((t) => t.startsWith('./dist/'))) {
        if (!existsSync(join(root, 'libs', lib, target))) throw new Error(`libs/${lib}/${target} is missing: run \`npm run build\` first`);
      }
    }
    work = mkdtempSync(join(tmpdir(), 'taskmesh-consumer-'));
    const tarballs = join(work, 'tarballs');
    app = join(work, 'app');
    mkdirSync(tarballs);
    mkdirSync(app);

    const pack = await timed('npm pack', () =>
      mustRun('npm', ['pack', '--json', '--pack-destination', tarballs, ...published.flatMap(({ lib }) => ['-w', `libs/${lib}`])], root, 120_000));
    packed = JSON.parse(pack.stdout) as Packed[];

    // The project a user starts with: the tarballs as dependencies, TypeScript and Node's types for the checks.
    const pinned = { ...rootManifest.devDependencies, ...rootManifest.dependencies };
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({
      name: 'taskmesh-consumer',
      version: '1.0.0',
      private: true,
      type: 'module',
      dependencies: Object.fromEntries(packed.map((p) => [p.name, `file:../tarballs/${p.filename}`])),
      devDependencies: { typescript: pinned['typescript'], '@types/node': pinned['@types/node'] },
    }, null, 2)}\n`);
    await timed('npm install', () => mustRun('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], app, 300_000));

    // skipLibCheck off: the installed declarations (ours and what they import) are checked as well, so a type a
    // package's .d.ts names from a package it does not depend on fails here (costs ~10 s of the run).
    writeFileSync(join(app, 'tsconfig.json'), `${JSON.stringify({
      compilerOptions: {
        module: 'nodenext', moduleResolution: 'nodenext', target: 'es2023', lib: ['es2023'], types: ['node'],
        strict: true, experimentalDecorators: true, emitDecoratorMetadata: true, skipLibCheck: false,
        rootDir: '.', outDir: 'out',
      },
      include: ['*.ts'],
    }, null, 2)}\n`);
    const fixtures = join(root, 'test', 'e2e', 'consumer');
    for (const file of readdirSync(fixtures).filter((f) => f.endsWith('.ts') || f.endsWith('.mjs'))) cpSync(join(fixtures, file), join(app, file));
    for (const bad of mustFail) writeFileSync(join(app, bad.file), bad.source);
    for (const readme of READMES) {
      const examples = readmeExamples(readme);
      if (examples.length === 0) throw new Error(`${readme} has no \`\`\`ts example`);
      for (const { file, source } of examples) {
        if (existsSync(join(app, file))) throw new Error(`${readme}: the example ${file} takes the name of another file`);
        writeFileSync(join(app, file), source);
        compiledExamples.push({ readme, file });
      }
    }
    // One compile for every file: the good ones are emitted to out/ (to run), the bad ones must fail.
    tsc = await timed('tsc', () => run(process.execPath, [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app, 120_000));
  };

  beforeAll(async () => {
    const [consumer, cluster] = await Promise.allSettled([
      prepareConsumer(),
      timed('cluster start', () => startMesh({ workers: 1, orchestrators: 1 })),
    ]);
    if (cluster.status === 'fulfilled') mesh = cluster.value;
    if (consumer.status === 'rejected') throw consumer.reason;
    if (cluster.status === 'rejected') throw cluster.reason;
  }, 420_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await mesh?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
    process.stderr.write(`packages.e2e timings (ms): ${JSON.stringify(timings)}\n`);
  }, 60_000);

  it('packs every published package with its dist, and no sources, specs or build info', () => {
    expect(packed.map((p) => p.name).sort()).toEqual(published.map((p) => p.manifest.name).sort());
    for (const { name, files } of packed) {
      const paths = files.map((f) => f.path);
      expect([name, paths]).toEqual([name, expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts'])]);
      expect([name, paths.filter((p) => /^src\/|\.spec\.|tsbuildinfo|\.package\.json/.test(p))]).toEqual([name, []]);
    }
  });

  it('writes manifests whose exports all point into the tarball (no `source` condition) and that run nothing, and leaves the repository\'s as they were', async () => {
    for (const { name, filename, files } of packed) {
      const manifest = JSON.parse((await mustRun('tar', ['-xzOf', join(work, 'tarballs', filename), 'package/package.json'], work, 10_000)).stdout) as Manifest;
      expect([name, Object.keys(manifest.exports ?? {}), manifest.scripts]).toEqual([name, expect.arrayContaining(['.']), undefined]);
      for (const [entry, conditions] of Object.entries(manifest.exports ?? {})) {
        expect([name, entry, Object.keys(conditions)]).toEqual([name, entry, ['types', 'default']]);
        for (const target of Object.values(conditions)) expect([name, target, files.some((f) => `./${f.path}` === target)]).toEqual([name, target, true]);
      }
    }
    for (const { lib } of published) {
      expect(readManifest(join(root, 'libs', lib, 'package.json')).exports?.['.']?.['source']).toBe('./src/index.ts');
      expect(existsSync(join(root, 'libs', lib, '.package.json.repo'))).toBe(false);
    }
  });

  it('installs copies of the packages, not links to the repository', () => {
    for (const { manifest } of published) {
      const installed = join(app, 'node_modules', manifest.name);
      expect([manifest.name, lstatSync(installed).isSymbolicLink(), existsSync(join(installed, 'src'))]).toEqual([manifest.name, false, false]);
    }
  });

  it('type-checks the project\'s files against the installed packages, and only the wrong ones fail', () => {
    const found = diagnostics(tsc.stdout);
    const unexpected = found.filter((d) => !mustFail.some((bad) => bad.file === d.file));
    if (unexpected.length > 0) throw new Error(`tsc in the consumer project:\n${tsc.stdout}${tsc.stderr}`);
    expect(tsc.code).toBe(2);
  });

  it('compiles the README examples of the packages', () => {
    for (const readme of READMES) expect([readme, compiledExamples.some((e) => e.readme === readme)]).toEqual([readme, true]);
    const failed = diagnostics(tsc.stdout).filter((d) => compiledExamples.some((e) => e.file === d.file));
    expect(failed).toEqual([]);
  });

  it.each(mustFail.map((bad) => [bad.file, bad] as const))('%s does not compile', (_file, bad) => {
    const errors = diagnostics(tsc.stdout).filter((d) => d.file === bad.file);
    expect(errors).toEqual([expect.objectContaining({ code: bad.code, text: expect.stringContaining(bad.says) })]);
  });

  it('runs an external worker built from @taskmesh/worker, which serves its own task to calls through the router', async () => {
    const greeter = startConsumerProcess('greeter', 'greeter.worker.js', {
      ...mesh!.server.appEnv(Role.Worker), MESH_WORKER_ID: 'greeter-1', MESH_HTTP_PORT: '0', LOG_LEVEL: 'info',
    });
    await greeter.waitForLine(/"greeter started"/, 20_000);
    await waitFor(async () => (await mesh!.liveWorkers()).includes('greeter-1'), { timeoutMs: 15_000, what: 'the router lists greeter-1' });

    const greeted = await mesh!.call('greet', { name: 'Ada' });
    expect(greeted).toMatchObject({ state: 'SUCCESS', worker: 'greeter-1', data: { result: { greeting: 'Hello, Ada', worker: 'greeter-1' } } });
    // The definition's DTO reached the worker: arguments that do not match it never run.
    const refused = await mesh!.call('greet', { name: 7 });
    expect(refused).toMatchObject({ state: 'FAILURE', data: { failure: { code: 'VALIDATION_FAILED' } } });

    // A typed caller (typed-call.ts, compiled above) reaches it through @taskmesh/client with the shared definition.
    expect(await runConsumerScript('out/typed-call.js')).toEqual({ greeting: 'Hello, Grace', worker: 'greeter-1' });
  }, 90_000);

  it('links the installed CLI\'s bin, which calls the cluster', async () => {
    const { user, pass } = mesh!.server.login(Role.Caller);
    const cli = await mustRun(join(app, 'node_modules', '.bin', 'taskmesh'), ['call', 'echo', '{"from":"cli"}', '--json', '--server', mesh!.server.url, '--user', user, '--password', pass], app, 60_000);
    expect(JSON.parse(cli.stdout)).toEqual({ from: 'cli' });
  }, 60_000);

  describe('a plain Node script with MeshClient (mesh-client.mjs)', () => {
    /** What mesh-client.mjs reports of an error. */
    interface Described {
      name: string;
      code: string;
      retryable: boolean;
      message: string;
      isMeshError: boolean;
      isCycleDetected: boolean;
      isCancelled: boolean;
    }

    it('calls echo', async () => {
      expect(await runConsumerScript('mesh-client.mjs', ['echo'])).toEqual({ result: { hello: 'world' } });
    }, 60_000);

    it('submits sleep in steps and reads every progress event from events(id), to the final state', async () => {
      const { seen } = await runConsumerScript<{ seen: { state: string; details?: unknown }[] }>('mesh-client.mjs', ['progress']);
      expect(seen.filter((e) => e.state === 'EVENT').map((e) => e.details)).toEqual([1, 2, 3, 4].map((step) => ({ step, steps: 4 })));
      expect(seen.map((e) => e.state)).toContain('RUNNING');
      expect(seen[seen.length - 1]!.state).toBe('SUCCESS');
    }, 60_000);

    it('cancels a running sleep: its wait rejects with a CancelledError', async () => {
      const { cancelState, outcome } = await runConsumerScript<{ cancelState: string; outcome: Described }>('mesh-client.mjs', ['cancel']);
      expect(['FAILURE', 'RUNNING']).toContain(cancelState);
      expect(outcome).toMatchObject({ name: 'CancelledError', code: 'CANCELLED', isCancelled: true, isMeshError: true });
    }, 60_000);

    it('gets CYCLE_DETECTED from chain as a CycleDetectedError', async () => {
      const failure = await runConsumerScript<Described>('mesh-client.mjs', ['cycle']);
      expect(failure).toMatchObject({ name: 'CycleDetectedError', code: 'CYCLE_DETECTED', isCycleDetected: true, isMeshError: true, retryable: false });
    }, 60_000);
  });
});
