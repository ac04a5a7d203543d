import { Writable } from 'node:stream';
import type { CallOptions, DeadLetter, InvocationStory, ListOptions, MeshClientApi, MeshConnectOptions, RedriveReply, RedriveTarget, WorkerInfo } from '@taskmesh/client';
import {
  CycleDetectedError,
  DispatchEventMessage,
  Failure,
  MeshTimeoutError,
  NotFoundError,
  PROTOCOL_VERSION,
  ResponseMessage,
  type DispatchRecord,
  type InvocationRecord,
} from '@taskmesh/protocol';
import type { Command } from 'commander';
import { createProgram, runCli } from './program.js';
import type { CliStream } from './cli-deps.js';

/** A stream that keeps what is written; `isTTY` says whether it plays a terminal. */
function capture(isTTY = false): CliStream & { text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as CliStream & { text: () => string };
  stream.isTTY = isTTY;
  stream.text = () => text;
  return stream;
}

const record = (fields: Partial<InvocationRecord> = {}): InvocationRecord => ({
  v: PROTOCOL_VERSION, id: 'inv-1', task: 'sleep', state: 'SUCCESS', attempts: 1, worker: 'w-1', createdAt: '2026-12-03T10:00:00.000Z',
  startedAt: '2026-12-03T10:00:00.100Z', finishedAt: '2026-12-03T10:00:01.600Z', result: { ok: true }, children: [], ...fields,
});

const dispatch = (fields: Partial<DispatchRecord> = {}): DispatchRecord => ({
  v: PROTOCOL_VERSION, id: 'd-1', task: 'echo', args: null, start: '2030-01-01T09:00:00.000Z', active: true, dryRun: false, misfire: 'skip',
  createdAt: '2026-12-03T10:00:00.000Z', updatedAt: '2026-12-03T10:00:00.000Z', ...fields,
});

const worker: WorkerInfo = { id: 'w-1', topic: 'mesh.worker.w-1', tasks: ['echo', 'sleep'], capacity: 8, inflight: 2, seq: 4, lastSeenMs: 120, uptimeMs: 65_000, restarts: 0 };

async function* iterate<T>(items: T[], drained: () => void = () => undefined): AsyncIterableIterator<T> {
  for (const item of items) yield item;
  drained();
}

/** A MeshClientApi whose answers each test sets; it records what it was asked. */
class FakeClient implements MeshClientApi {
  readonly asked: Array<[string, ...unknown[]]> = [];
  callAnswer: () => Promise<unknown> = async () => ({ hello: 'mesh' });
  waitAnswers: Array<() => Promise<unknown>> = [];
  eventsOf: ResponseMessage[] = [];
  getAnswer: () => Promise<InvocationRecord> = async () => record();
  workersAnswers: WorkerInfo[][] = [[worker]];
  dispatchEvents: DispatchEventMessage[] = [];
  closed = false;
  /** Resolved when `events` has given all of `eventsOf`. */
  readonly eventsDrained: Promise<void>;
  private drained!: () => void;

  constructor() {
    this.eventsDrained = new Promise((resolve) => (this.drained = resolve));
  }

  call(task: unknown, args?: unknown, options?: CallOptions): Promise<never> {
    this.asked.push(['call', task, args, options]);
    return this.callAnswer() as Promise<never>;
  }
  async submit(task: unknown, args?: unknown, options?: Omit<CallOptions, 'delivery'>): Promise<string> {
    this.asked.push(['submit', task, args, options]);
    return options?.id ?? 'inv-1';
  }
  wait<R>(id: string, options?: { timeoutMs?: number }): Promise<R> {
    this.asked.push(['wait', id, options?.timeoutMs]);
    const next = this.waitAnswers.shift() ?? (async () => ({ done: true }));
    return next() as Promise<R>;
  }
  get(id: string): Promise<InvocationRecord> {
    this.asked.push(['get', id]);
    return this.getAnswer();
  }
  async list(options?: ListOptions): Promise<InvocationRecord[]> {
    this.asked.push(['list', options]);
    return [record(), record({ id: 'inv-2', state: 'FAILURE', result: undefined, failure: Failure.create('TASK_FAILED', 'boom') })];
  }
  async cancel(id: string): Promise<ResponseMessage> {
    this.asked.push(['cancel', id]);
    return ResponseMessage.failure(id, Failure.create('CANCELLED', 'cancelled by a caller'));
  }
  events(id: string): AsyncIterableIterator<ResponseMessage> {
    this.asked.push(['events', id]);
    return iterate(this.eventsOf, this.drained);
  }
  async workers(): Promise<WorkerInfo[]> {
    this.asked.push(['workers']);
    return this.workersAnswers.shift() ?? [];
  }
  async deadLetters(options?: { limit?: number }): Promise<DeadLetter[]> {
    this.asked.push(['deadLetters', options]);
    return [{ seq: 7, task: 'fail', reason: 'exhausted', fromStream: 'MESH_WORK', fromSeq: 42, deliveries: 5, at: '2026-12-03T10:00:00.000Z', body: { a: 1 } }];
  }
  redriveAnswer: RedriveReply = { redriven: ['inv-1'], skipped: [{ id: 'inv-2', reason: 'already redriven' }] };
  async redrive(target: RedriveTarget): Promise<RedriveReply> {
    this.asked.push(['redrive', target]);
    return this.redriveAnswer;
  }
  async story(id: string): Promise<InvocationStory> {
    this.asked.push(['story', id]);
    if (id !== 'inv-1') throw new NotFoundError(`no invocation ${id}`);
    return {
      id, workers: ['w-1'], missing: [{ attempt: 1, worker: 'w-0' }],
      entries: [
        { at: '2026-12-03T10:00:00.000Z', attempt: 2, worker: 'w-1', kind: 'stimulus', type: 'work-received', detail: { deliveryCount: 2 } },
        { at: '2026-12-03T10:00:00.000Z', attempt: 2, worker: 'w-1', kind: 'instruction', type: 'execute' },
      ],
    };
  }
  readonly dispatches = {
    create: async (d: object) => {
      this.asked.push(['dispatches.create', d]);
      return dispatch(d as Partial<DispatchRecord>);
    },
    update: async () => dispatch(),
    get: async (id: string) => {
      this.asked.push(['dispatches.get', id]);
      if (id !== 'd-1') throw new NotFoundError(`no dispatch ${id}`);
      return dispatch();
    },
    list: async () => [dispatch(), dispatch({ id: 'd-2', recurrence: { cron: '0 9 * * 1-5' }, duration: 5000 })],
    upcoming: async () => [],
    delete: async (id: string) => {
      this.asked.push(['dispatches.delete', id]);
    },
    follow: (id: string) => {
      this.asked.push(['dispatches.follow', id]);
      return iterate(this.dispatchEvents);
    },
  };
  async close(): Promise<void> {
    this.closed = true;
  }
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  client: FakeClient;
  connected: MeshConnectOptions[];
}

/** Runs the CLI on `argv` against `client` (a fresh fake by default). */
async function run(argv: string[], options: { client?: FakeClient; connect?: (o: MeshConnectOptions) => Promise<MeshClientApi>; tty?: boolean; interrupt?: AbortSignal } = {}): Promise<Ran> {
  const client = options.client ?? new FakeClient();
  const stdout = capture(options.tty);
  const stderr = capture(options.tty);
  const connected: MeshConnectOptions[] = [];
  const code = await runCli(argv, {
    connect: async (o) => {
      connected.push(o);
      return options.connect ? options.connect(o) : client;
    },
    stdout,
    stderr,
    ...(options.interrupt ? { interrupt: options.interrupt } : {}),
  });
  return { code, stdout: stdout.text(), stderr: stderr.text(), client, connected };
}

describe('taskmesh (runCli)', () => {
  describe('call', () => {
    it('prints the result as indented JSON and exits 0; the options reach the client', async () => {
      const ran = await run(['call', 'echo', '{"hello":"mesh"}', '--id', 'job-1', '--key', 'k', '--delivery', 'direct', '--timeout', '5000']);
      expect(ran).toMatchObject({ code: 0, stdout: '{\n  "hello": "mesh"\n}\n', stderr: '' });
      expect(ran.client.asked).toEqual([['call', 'echo', { hello: 'mesh' }, expect.objectContaining({ id: 'job-1', key: 'k', delivery: 'direct', timeoutMs: 5000 })]]);
      expect(ran.client.closed).toBe(true);
    });

    it('--json prints one JSON document of the result', async () => {
      const ran = await run(['--json', 'call', 'echo', '{"n":1}']);
      expect(JSON.parse(ran.stdout)).toEqual({ hello: 'mesh' });
    });

    it('a failure exits with its code\'s status: the message on stderr, or {failure} on stdout with --json', async () => {
      const client = new FakeClient();
      client.callAnswer = async () => {
        throw new CycleDetectedError('chain -> chain loops back', { details: { chain: ['a', 'b'] } });
      };
      const human = await run(['call', 'chain'], { client });
      expect(human).toMatchObject({ code: 16, stdout: '' });
      expect(human.stderr).toBe('taskmesh: CYCLE_DETECTED: chain -> chain loops back\n  details: {"chain":["a","b"]}\n');
      const json = await run(['call', 'chain', '--json'], { client });
      expect(json.code).toBe(16);
      expect(JSON.parse(json.stdout)).toEqual({ failure: { code: 'CYCLE_DETECTED', message: 'chain -> chain loops back', retryable: false, details: { chain: ['a', 'b'] } } });
    });

    it('an error that is not a mesh failure exits 1 with its message', async () => {
      const client = new FakeClient();
      client.callAnswer = async () => {
        throw new Error('connection lost');
      };
      expect(await run(['call', 'echo'], { client })).toMatchObject({ code: 1, stderr: 'taskmesh: connection lost\n' });
    });

    it('on a terminal: submits, draws a bar from the progress events that reaches 100%, and prints the outcome', async () => {
      const client = new FakeClient();
      client.eventsOf = [
        ResponseMessage.state('inv-1', 'RUNNING', { attempt: 1 }),
        ResponseMessage.event('inv-1', 'progress', { step: 1, steps: 2 }),
        ResponseMessage.event('inv-1', 'progress', { step: 2, steps: 2 }),
      ];
      // The outcome comes once every event was seen, as it does from a mesh.
      client.waitAnswers = [async () => client.eventsDrained.then(() => ({ slept: true }))];
      const ran = await run(['call', 'sleep', '{"ms":10,"steps":2}'], { client, tty: true });
      expect(ran.code).toBe(0);
      expect(ran.client.asked.map(([what]) => what)).toEqual(expect.arrayContaining(['submit', 'wait', 'events']));
      expect(ran.client.asked.map(([what]) => what)).not.toContain('call');
      expect(ran.stdout).toBe('{\n  "slept": true\n}\n');
      expect(ran.stderr).toContain('100% | 2/2 | SUCCESS');
    });

    it('on a terminal, --no-progress and --delivery direct make it one plain call', async () => {
      expect((await run(['call', 'sleep', '--no-progress'], { tty: true })).client.asked.map(([w]) => w)).toEqual(['call']);
      expect((await run(['call', 'ping', '--delivery', 'direct'], { tty: true })).client.asked.map(([w]) => w)).toEqual(['call']);
    });

    it('Ctrl-C while a bar is shown cancels the invocation and exits 130', async () => {
      const client = new FakeClient();
      const interrupt = new AbortController();
      client.waitAnswers = [async () => {
        interrupt.abort();
        throw new MeshTimeoutError('stopped waiting', { details: { state: 'RUNNING' } });
      }];
      const ran = await run(['call', 'sleep', '{"ms":60000}'], { client, tty: true, interrupt: interrupt.signal });
      expect(ran.code).toBe(130);
      expect(ran.client.asked).toContainEqual(['cancel', 'inv-1']);
      expect(ran.stderr).toContain('interrupted: cancelled inv-1');
    });
  });

  describe('usage errors exit 2 and print the help of the command', () => {
    it.each([
      [['call', 'echo', '--bogus'], 'Usage: taskmesh call'],
      [['call', 'echo', '{not json'], 'Usage: taskmesh call'],
      [['call', 'echo', '--delivery', 'carrier-pigeon'], 'Usage: taskmesh call'],
      [['call'], 'Usage: taskmesh call'],
      [['invocations', '--state', 'DONE'], 'Usage: taskmesh invocations'],
      [['invocations', '--limit', '0'], 'Usage: taskmesh invocations'],
      [['wait', 'x', '--timeout', 'soon'], 'Usage: taskmesh [options] [command]'],
      [['dispatches', 'create', 'echo', '--every', 'FREQ=DAILY', '--cron', '* * * * *'], 'Usage: taskmesh dispatches create'],
      [['dispatches', 'create', 'echo', '--start', 'tomorrow'], 'Usage: taskmesh dispatches create'],
      [['get', 'x', '--password', 'secret'], 'Usage: taskmesh get'],
      [['get', 'x', '--user', 'u', '--token', 't'], 'Usage: taskmesh get'],
      [['nope'], 'Usage: taskmesh'],
      [[], 'Usage: taskmesh'],
    ])('%j', async (argv, usage) => {
      const ran = await run(argv);
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain(usage);
      expect(ran.connected).toEqual([]);
    });

    it('--help exits 0 with examples and the exit status table', async () => {
      const ran = await run(['--help']);
      expect(ran.code).toBe(0);
      expect(ran.stdout).toContain('Examples:');
      expect(ran.stdout).toMatch(/16 {2}CYCLE_DETECTED\n/);
      expect(ran.stdout).toMatch(/69 {2}NATS unreachable\n/);
    });

    it.each([
      'call', 'submit', 'wait', 'events', 'get', 'cancel', 'invocations', 'workers', 'deadletters', 'deadletters redrive', 'story',
      'dispatches', 'dispatches create', 'dispatches list', 'dispatches get', 'dispatches delete', 'dispatches follow', 'auth', 'auth init',
    ])('%s --help has examples', async (command) => {
      const ran = await run([...command.split(' '), '--help']);
      expect(ran.code).toBe(0);
      expect(ran.stdout).toContain(`Usage: taskmesh ${command}`);
      expect(ran.stdout).toMatch(/Examples:\n {2}\$ .*taskmesh /);
    });

    it('every command is in the list above', () => {
      const names = (c: Command, prefix: string): string[] => c.commands.filter((s) => s.name() !== 'help')
        .flatMap((s) => [`${prefix}${s.name()}`, ...names(s, `${prefix}${s.name()} `)]);
      expect(names(createProgram({ connect: async () => new FakeClient(), stdout: capture(), stderr: capture() }), '').sort()).toEqual([
        'auth', 'auth init', 'call', 'cancel', 'deadletters', 'deadletters redrive', 'dispatches', 'dispatches create', 'dispatches delete', 'dispatches follow',
        'dispatches get', 'dispatches list', 'events', 'get', 'invocations', 'story', 'submit', 'wait', 'workers',
      ]);
    });
  });

  describe('connection', () => {
    it('global options, before or after the command, become the connect options', async () => {
      const ran = await run(['get', 'x', '--server', 'nats://a:1,nats://b:2', '--prefix', 'blue', '--user', 'u', '--password', 'p', '--tls-ca', '/ca.pem', '--timeout', '900']);
      expect(ran.connected).toEqual([{
        servers: 'nats://a:1,nats://b:2', prefix: 'blue', name: 'taskmesh-cli', connectAttempts: 1, timeoutMs: 900, user: 'u', password: 'p', tls: { caFile: '/ca.pem' },
      }]);
      expect((await run(['--creds', '/u.creds', 'get', 'x'])).connected[0]).toMatchObject({ credsFile: '/u.creds', servers: 'nats://127.0.0.1:4222', prefix: 'mesh' });
      expect((await run(['--token', 's3cret', 'get', 'x'])).connected[0]).toMatchObject({ token: 's3cret' });
    });

    it('a server that cannot be reached exits 69; refused credentials exit 77', async () => {
      const unreachable = await run(['get', 'x'], { connect: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:4222')) });
      expect(unreachable).toMatchObject({ code: 69, stderr: 'taskmesh: cannot connect to nats://127.0.0.1:4222: connect ECONNREFUSED 127.0.0.1:4222\n' });
      const auth = Object.assign(new Error('Authorization Violation'), { name: 'AuthorizationError' });
      expect((await run(['get', 'x'], { connect: async () => Promise.reject(auth) })).code).toBe(77);
    });
  });

  describe('submit, wait, get, cancel, events, invocations', () => {
    it('submit prints the id (JSON: {id})', async () => {
      expect((await run(['submit', 'sleep', '{"ms":5}', '--id', 'job-7'])).stdout).toBe('job-7\n');
      expect(JSON.parse((await run(['submit', 'sleep', '--json'])).stdout)).toEqual({ id: 'inv-1' });
    });

    it('wait waits in slices until the outcome', async () => {
      const client = new FakeClient();
      const stillRunning = async () => {
        throw new MeshTimeoutError('still running', { details: { state: 'RUNNING' } });
      };
      client.waitAnswers = [stillRunning, stillRunning, async () => 42];
      const ran = await run(['wait', 'job-1', '--json'], { client });
      expect(ran).toMatchObject({ code: 0, stdout: '42\n' });
      expect(ran.client.asked.filter(([w]) => w === 'wait')).toHaveLength(3);
    });

    it('wait --timeout: still going exits 75 with the state; an invocation that failed TIMEOUT exits 13', async () => {
      const client = new FakeClient();
      // A wait that runs out of its time, as the mesh's does while the invocation runs.
      client.wait = async (id, options) => {
        client.asked.push(['wait', id, options?.timeoutMs]);
        await new Promise((resolve) => setTimeout(resolve, options?.timeoutMs));
        throw new MeshTimeoutError('still running', { details: { state: 'RUNNING' } });
      };
      const ran = await run(['wait', 'job-1', '--timeout', '50', '--json'], { client });
      expect(ran.code).toBe(75);
      expect(JSON.parse(ran.stdout)).toEqual({ id: 'job-1', state: 'RUNNING' });
      const timedOut = new FakeClient();
      timedOut.waitAnswers = [async () => {
        throw new MeshTimeoutError('not started before its deadline');
      }];
      expect((await run(['wait', 'job-1'], { client: timedOut })).code).toBe(13);
    });

    it('get prints the record (a field table, or the record with --json); a missing one exits 19', async () => {
      const table = await run(['get', 'inv-1']);
      expect(table.stdout).toMatch(/│ state\s+│ SUCCESS\s+│/);
      expect(table.stdout).toMatch(/│ result\s+│ \{"ok":true\}\s+│/);
      expect(JSON.parse((await run(['get', 'inv-1', '--json'])).stdout)).toEqual(record());
      const client = new FakeClient();
      client.getAnswer = async () => {
        throw new NotFoundError('no invocation nope');
      };
      expect(await run(['get', 'nope'], { client })).toMatchObject({ code: 19, stderr: 'taskmesh: NOT_FOUND: no invocation nope\n' });
    });

    it('cancel prints the state after the request and exits 0', async () => {
      expect(await run(['cancel', 'inv-1'])).toMatchObject({ code: 0, stdout: 'inv-1 FAILURE CANCELLED: cancelled by a caller\n' });
      expect(JSON.parse((await run(['cancel', 'inv-1', '--json'])).stdout)).toMatchObject({ id: 'inv-1', state: 'FAILURE', data: { failure: { code: 'CANCELLED' } } });
    });

    it('events prints one line each (JSON lines with --json) and exits with the outcome\'s status', async () => {
      const client = new FakeClient();
      client.eventsOf = [
        ResponseMessage.state('inv-1', 'RUNNING', { attempt: 1, worker: 'w-1', at: '2026-12-03T10:00:00.000Z' }),
        ResponseMessage.event('inv-1', 'progress', { step: 1, steps: 2 }),
        ResponseMessage.failure('inv-1', Failure.create('TASK_FAILED', 'boom'), { attempt: 1 }),
      ];
      const ran = await run(['events', 'inv-1'], { client });
      expect(ran.code).toBe(14);
      expect(ran.stdout).toBe([
        '2026-12-03T10:00:00.000Z RUNNING attempt 1 worker w-1',
        'EVENT progress {"step":1,"steps":2}',
        'FAILURE attempt 1 TASK_FAILED: boom',
        '',
      ].join('\n'));
      const json = await run(['events', 'inv-1', '--json'], { client });
      expect(json.stdout.trim().split('\n').map((line) => JSON.parse(line).state)).toEqual(['RUNNING', 'EVENT', 'FAILURE']);
    });

    it('invocations passes its filters and prints a table', async () => {
      const ran = await run(['invocations', '--task', 'sleep', '--state', 'FAILURE', '--limit', '10']);
      expect(ran.client.asked).toEqual([['list', { task: 'sleep', state: 'FAILURE', limit: 10 }]]);
      expect(ran.stdout).toMatch(/│ inv-1 │ sleep │ SUCCESS │ 1\s+│ w-1\s+│ 2026-12-03T10:00:00.000Z │ 1.5 s │\s+│/);
      expect(ran.stdout).toMatch(/│ inv-2 .* TASK_FAILED │/);
      expect(JSON.parse((await run(['invocations', '--json'])).stdout)).toHaveLength(2);
    });
  });

  describe('workers, deadletters, dispatches', () => {
    it('workers prints a table, or the list with --json', async () => {
      expect((await run(['workers'])).stdout).toMatch(/│ w-1 │ echo sleep │ 2\s+│ 8\s+│ 120 ms ago │ 1 min 5 s │ 0\s+│/);
      expect(JSON.parse((await run(['workers', '--json'])).stdout)).toEqual([worker]);
    });

    it('workers --watch --json prints one line per refresh until Ctrl-C, then exits 0', async () => {
      const client = new FakeClient();
      const interrupt = new AbortController();
      client.workersAnswers = [[worker], [worker, { ...worker, id: 'w-2' }], []];
      const workers = client.workers.bind(client);
      client.workers = async () => {
        const list = await workers();
        if (list.length === 0) interrupt.abort();
        return list;
      };
      const ran = await run(['workers', '--watch', '--interval', '100', '--json'], { client, interrupt: interrupt.signal });
      expect(ran.code).toBe(0);
      expect(ran.stdout.trim().split('\n').map((line) => JSON.parse(line).workers.length)).toEqual([1, 2, 0]);
    });

    it('deadletters passes --limit and prints a table', async () => {
      const ran = await run(['deadletters', '--limit', '5']);
      expect(ran.client.asked).toEqual([['deadLetters', { limit: 5 }]]);
      expect(ran.stdout).toMatch(/│ 7\s+│ 2026-12-03T10:00:00.000Z │ fail │ exhausted │ MESH_WORK #42 │ 5\s+│/);
    });

    it('deadletters redrive <id> asks for that invocation and prints what was redriven and skipped', async () => {
      const ran = await run(['deadletters', 'redrive', 'inv-1']);
      expect(ran.code).toBe(0);
      expect(ran.client.asked).toEqual([['redrive', { id: 'inv-1' }]]);
      expect(ran.stdout).toBe('redriven inv-1\nskipped  inv-2: already redriven\n');
    });

    it('deadletters redrive --all --task --json prints the reply as JSON', async () => {
      const ran = await run(['deadletters', 'redrive', '--all', '--task', 'flaky', '--json']);
      expect(ran.code).toBe(0);
      expect(ran.client.asked).toEqual([['redrive', { all: true, task: 'flaky' }]]);
      expect(JSON.parse(ran.stdout)).toEqual({ redriven: ['inv-1'], skipped: [{ id: 'inv-2', reason: 'already redriven' }] });
    });

    it('deadletters redrive needs an id or --all, not both, and --task only with --all (exit 2)', async () => {
      for (const argv of [['deadletters', 'redrive'], ['deadletters', 'redrive', 'inv-1', '--all'], ['deadletters', 'redrive', 'inv-1', '--task', 't']]) {
        const ran = await run(argv);
        expect(ran.code).toBe(2);
        expect(ran.stderr).toMatch(/error: (give an invocation id or --all|--task goes with --all)/);
        expect(ran.client.asked).toEqual([]);
      }
    });

    it('story prints a table of entries and the missing attempts, or the story with --json', async () => {
      const ran = await run(['story', 'inv-1']);
      expect(ran.code).toBe(0);
      expect(ran.stdout).toMatch(/│ 2026-12-03T10:00:00.000Z │ 2\s+│ w-1\s+│ stimulus\s+│ work-received │ \{"deliveryCount":2\}\s+│/);
      expect(ran.stdout).toContain('attempt 1 (on w-0): no worker remembers it');
      const json = JSON.parse((await run(['story', 'inv-1', '--json'])).stdout) as InvocationStory;
      expect(json).toMatchObject({ id: 'inv-1', workers: ['w-1'], missing: [{ attempt: 1 }] });
      expect(json.entries.map((e) => e.type)).toEqual(['work-received', 'execute']);
    });

    it('story of an unknown id exits 19 (NOT_FOUND)', async () => {
      const ran = await run(['story', 'nope']);
      expect(ran.code).toBe(19);
      expect(ran.stderr).toContain('NOT_FOUND');
    });

    it('dispatches create builds the dispatch from its flags', async () => {
      const before = Date.now();
      const ran = await run(['dispatches', 'create', 'echo', '{"a":1}', '--every', 'FREQ=SECONDLY;COUNT=2', '--in', '5000', '--duration', '300', '--id', 'demo', '--inactive', '--json']);
      expect(ran.code).toBe(0);
      const [, body] = ran.client.asked[0] as [string, Record<string, unknown>];
      expect(body).toEqual({
        task: 'echo', args: { a: 1 }, id: 'demo', recurrence: 'FREQ=SECONDLY;COUNT=2', duration: 300, start: expect.any(String), active: false, dryRun: false, misfire: 'skip',
      });
      expect(Date.parse(body['start'] as string)).toBeGreaterThanOrEqual(before + 5000);
      expect(JSON.parse(ran.stdout)).toMatchObject({ id: 'demo', task: 'echo' });
      const cron = await run(['schedule', 'create', 'echo', '--cron', '0 9 * * 1-5', '--timezone', 'Europe/Berlin', '--start', '2030-01-01T09:00:00Z', '--misfire', 'fire-once']);
      expect(cron.client.asked[0]![1]).toMatchObject({ recurrence: { cron: '0 9 * * 1-5' }, timezone: 'Europe/Berlin', start: '2030-01-01T09:00:00Z', misfire: 'fire-once', active: true });
    });

    it('dispatches create --follow follows before it creates, and prints events until deleted', async () => {
      const client = new FakeClient();
      const events = ['created', 'started', 'stopped', 'deleted', 'updated'] as const;
      client.dispatchEvents = events.map((e, i) => DispatchEventMessage.create(e, dispatch({ id: 'demo' }), e === 'started' || e === 'stopped' ? Date.parse('2030-01-01T09:00:00Z') : undefined, `2026-12-03T10:00:0${i}.000Z`));
      const ran = await run(['dispatches', 'create', 'echo', '--id', 'demo', '--follow'], { client });
      expect(ran.code).toBe(0);
      expect(ran.client.asked.map(([w]) => w)).toEqual(['dispatches.follow', 'dispatches.create']);
      expect(ran.stdout).toContain([
        '2026-12-03T10:00:00.000Z created',
        '2026-12-03T10:00:01.000Z started occurrence 2030-01-01T09:00:00.000Z',
        '2026-12-03T10:00:02.000Z stopped occurrence 2030-01-01T09:00:00.000Z',
        '2026-12-03T10:00:03.000Z deleted',
        '',
      ].join('\n'));
      expect(ran.stdout).not.toMatch(/Z updated$/m);
    });

    it('dispatches list, get and delete', async () => {
      const list = await run(['dispatches', 'list']);
      expect(list.stdout).toMatch(/│ d-2 │ echo │ cron: 0 9 \* \* 1-5 │ 2030-01-01T09:00:00.000Z │ 5.0 s\s+│ yes/);
      expect(JSON.parse((await run(['dispatches', 'get', 'd-1', '--json'])).stdout)).toEqual(dispatch());
      expect((await run(['dispatches', 'get', 'd-9'])).code).toBe(19);
      expect(await run(['dispatches', 'delete', 'd-1'])).toMatchObject({ code: 0, stdout: 'deleted d-1\n' });
      expect((await run(['dispatches'])).code).toBe(2);
    });
  });
});
