import { FailureCode, Failure, MeshError, RequestMessage, ResponseMessage, TaskConcurrency, argsDigest, keyShard } from '@taskmesh/protocol';
import { WorkerState, type Execute, type WorkerCoreConfig } from '@taskmesh/worker-core';
import { WorkerDispatcher, type ChildCallRequest, type TaskRuntime, type WorkerPorts } from './worker-dispatcher.js';

const WALL = Date.now();
const request = (task: string, id = 'inv-1'): Uint8Array =>
  new TextEncoder().encode(JSON.stringify(RequestMessage.create({ id, task, args: { n: 1 }, deadline: WALL + 60_000, createdAt: new Date(WALL).toISOString() })));

type Handler = (exec: Execute, ctx: TaskRuntime) => Promise<unknown>;

/** Fake I/O: records what the dispatcher does; a manual clock drives its one timer. */
class FakePorts implements WorkerPorts {
  clock = 0;
  calls: string[] = [];
  stored: ResponseMessage[] = [];
  replies: ResponseMessage[] = [];
  signals = new Map<number, AbortSignal>();
  /** The runtime each run got; with `lazySignal`, its signal is not read when the run starts. */
  runtimes = new Map<number, TaskRuntime>();
  lazySignal = false;
  storeFails = false;
  handler: Handler = async () => 'ok';
  isDrained = false;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private timerId = 0;

  now = (): number => this.clock;
  /** Called inside pull(): lets a test answer a pull synchronously, as an in-memory transport could. */
  onPull?: (pullId: number) => void;
  pull = (pullId: number, task: string, batch: number): void => {
    this.calls.push(`pull ${task} ${batch}`);
    this.onPull?.(pullId);
  };
  pullShard = (_pullId: number, shard: number): void => void this.calls.push(`pull-shard ${shard}`);
  ack = (ref: number): void => void this.calls.push(`ack ${ref}`);
  nak = (ref: number, delayMs: number): void => void this.calls.push(`nak ${ref} ${delayMs}`);
  inProgress = (ref: number): void => void this.calls.push(`wpi ${ref}`);
  term = (ref: number): void => void this.calls.push(`term ${ref}`);
  deadLetter = (ref: number, task: string): void => void this.calls.push(`dlq ${ref} ${task}`);
  publishEvent = (_id: string, r: ResponseMessage): void => void this.calls.push(`event ${r.state}`);
  storeOutcome = async (_id: string, r: ResponseMessage): Promise<void> => {
    this.calls.push(`store ${r.state}`);
    if (this.storeFails) throw new Error('stream unavailable');
    this.stored.push(r);
  };
  reply = (_to: string, r: ResponseMessage): void => {
    this.calls.push(`reply ${r.state}`);
    this.replies.push(r);
  };
  runTask = (exec: Execute, ctx: TaskRuntime): Promise<unknown> => {
    this.runtimes.set(exec.ref, ctx);
    if (!this.lazySignal) this.signals.set(exec.ref, ctx.signal);
    return this.handler(exec, ctx);
  };
  /** Running claims held, by key; `claimAnswer` decides new claims. */
  claims = new Map<string, string>();
  claim = async (key: string, id: string): Promise<boolean> => {
    this.calls.push(`claim ${key}`);
    const holder = this.claims.get(key);
    if (holder !== undefined && holder !== id) return false;
    this.claims.set(key, id);
    return true;
  };
  releaseClaim = async (key: string, id: string): Promise<void> => {
    this.calls.push(`release ${key}`);
    if (this.claims.get(key) === id) this.claims.delete(key);
  };
  /** Child calls made, and how each is answered (default: echo its args). */
  childCalls: { task: string; request: ChildCallRequest }[] = [];
  answerChild: (task: string, request: ChildCallRequest) => Promise<ResponseMessage> = async (_t, r) => ResponseMessage.success(r.id, r.args);
  callTask = (task: string, request: ChildCallRequest): Promise<ResponseMessage> => {
    this.calls.push(`call ${task}`);
    this.childCalls.push({ task, request });
    return this.answerChild(task, request);
  };
  cancelled: string[] = [];
  cancel = (id: string): void => void this.cancelled.push(id);
  countInvalid = (kind: string): void => void this.calls.push(`invalid ${kind}`);
  logs: string[] = [];
  log = (level: string, message: string): void => void this.logs.push(`${level} ${message}`);
  drained = (): void => {
    this.isDrained = true;
  };
  load = (n: number): void => void this.calls.push(`load ${n}`);
  timersSet = 0;
  setTimer = (fn: () => void, ms: number): unknown => {
    this.timersSet += 1;
    const id = ++this.timerId;
    this.timers.push({ at: this.clock + ms, fn, id });
    return id;
  };
  clearTimer = (id: unknown): void => {
    this.timers = this.timers.filter((t) => t.id !== id);
  };
  /** Moves the clock and fires due timers. */
  advance(ms: number): void {
    this.clock += ms;
    for (const t of this.timers.filter((x) => x.at <= this.clock)) {
      this.clearTimer(t.id);
      t.fn();
    }
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function setup(tasks: WorkerCoreConfig['tasks'] = { echo: {} }, capacity = 2) {
  const ports = new FakePorts();
  const core = new WorkerState({ workerId: 'w1', capacity, tasks, inProgressEveryMs: 100, pullExpiresMs: 1000 });
  const dispatcher = new WorkerDispatcher(core, ports);
  dispatcher.feed({ type: 'start' });
  const deliver = (ref: number, task = Object.keys(tasks)[0], id = `inv-${ref}`): void =>
    dispatcher.feed({ type: 'work-received', pullId: 1, ref, data: request(task, id), deliveryCount: 1, replyTo: 'mesh.reply.r.x', wallNow: Date.now() });
  return { ports, core, dispatcher, deliver };
}

describe(WorkerDispatcher.name, () => {
  it('runs a sync handler and records, replies, acks in that order', async () => {
    const { ports, deliver } = setup();
    ports.handler = (exec) => Promise.resolve({ echoed: exec.args });
    deliver(1);
    await flush();
    // One slot freed while the first pull still reserves the other: no re-pull for a single slot.
    expect(ports.calls).toEqual(['pull echo 2', 'event RUNNING', 'load 1', 'store SUCCESS', 'reply SUCCESS', 'ack 1', 'load 0']);
    expect(ports.replies[0].result).toEqual({ echoed: { n: 1 } });
  });

  it('keeps one timer while work comes and goes, and still keeps a long task alive on time', async () => {
    const { ports, deliver } = setup({ echo: {} }, 4);
    let release!: () => void;
    ports.handler = (exec) => (exec.ref === 41 ? new Promise((resolve) => (release = () => resolve('long'))) : Promise.resolve('short'));
    const before = ports.timersSet;
    // 40 short tasks one after another: each one's in-progress ack is the core's next tick, for a moment.
    for (let ref = 1; ref <= 40; ref++) {
      ports.advance(1);
      deliver(ref);
      await flush();
    }
    expect(ports.calls.filter((c) => c.startsWith('ack ')).length).toBe(40);
    expect(ports.timersSet - before).toBeLessThanOrEqual(2);
    // A long task's in-progress acks come every 100 ms all the same (a timer that fires early re-arms).
    deliver(41);
    await flush();
    for (let t = 0; t < 100; t += 10) ports.advance(10);
    ports.advance(0);
    expect(ports.calls.filter((c) => c === 'wpi 41').length).toBe(1);
    for (let t = 0; t < 100; t += 10) ports.advance(10);
    ports.advance(0);
    expect(ports.calls.filter((c) => c === 'wpi 41').length).toBe(2);
    release();
    await flush();
    expect(ports.calls).toContain('ack 41');
  });

  it('pulls the key shards the core owns through pullShard, and runs what they deliver', async () => {
    const { ports, dispatcher } = setup();
    dispatcher.feed({ type: 'shards-owned', shards: [3, 1] });
    expect(ports.calls.slice(-2)).toEqual(['pull-shard 1', 'pull-shard 3']);
    dispatcher.feed({ type: 'work-received', pullId: 2, ref: 9, data: request('echo', 'inv-k'), deliveryCount: 1, wallNow: Date.now() });
    await flush();
    expect(ports.calls).toEqual(expect.arrayContaining(['event RUNNING', 'store SUCCESS', 'ack 9']));
  });

  it('runs an async handler', async () => {
    const { ports, deliver } = setup();
    let resolve!: (v: unknown) => void;
    ports.handler = () => new Promise((r) => (resolve = r));
    deliver(1);
    await flush();
    expect(ports.calls).not.toContain('ack 1');
    resolve(42);
    await flush();
    expect(ports.stored[0].result).toBe(42);
    expect(ports.calls).toContain('ack 1');
  });

  it('turns a throwing handler into a TASK_FAILED outcome, and a MeshError keeps its code', async () => {
    const { ports, deliver } = setup();
    ports.handler = () => {
      throw new Error('kaput');
    };
    deliver(1);
    await flush();
    expect(ports.stored[0].failure).toMatchObject({ code: 'TASK_FAILED', message: 'kaput' });
    ports.handler = () => Promise.reject(new MeshError(FailureCode.VALIDATION_FAILED, 'bad args'));
    deliver(2);
    await flush();
    expect(ports.stored[1].failure).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(ports.calls.filter((c) => c.startsWith('ack'))).toEqual(['ack 1', 'ack 2']);
  });

  it('sends in-progress acks from its one timer while a handler runs', async () => {
    const { ports, deliver } = setup();
    ports.handler = () => new Promise(() => undefined);
    deliver(1);
    ports.advance(100);
    ports.advance(100);
    expect(ports.calls.filter((c) => c === 'wpi 1')).toHaveLength(2);
  });

  it('aborts a hanging handler at its timeout and fails it with TIMEOUT', async () => {
    // The handler never settles; its 500 ms timeout passes.
    const { ports, deliver } = setup({ hang: { timeoutMs: 500 } });
    ports.handler = () => new Promise(() => undefined);
    deliver(1, 'hang');
    ports.advance(500);
    await flush();
    expect(ports.signals.get(1)?.aborted).toBe(true);
    expect((ports.signals.get(1)?.reason as MeshError).code).toBe('TIMEOUT');
    expect(ports.stored[0].failure?.code).toBe('TIMEOUT');
    expect(ports.calls).toContain('ack 1');
  });

  it('gives a handler that reads its signal only after its timeout a signal already aborted with TIMEOUT', async () => {
    // Most handlers never read ctx.signal, so it is made on first read; one read late must see the abort all the same.
    const { ports, deliver } = setup({ hang: { timeoutMs: 500 } });
    ports.lazySignal = true;
    ports.handler = () => new Promise(() => undefined);
    deliver(1, 'hang');
    ports.advance(500);
    await flush();
    const signal = ports.runtimes.get(1)?.signal;
    expect([signal?.aborted, (signal?.reason as MeshError | undefined)?.code, ports.runtimes.get(1)?.signal === signal]).toEqual([true, 'TIMEOUT', true]);
    expect(ports.stored[0].failure?.code).toBe('TIMEOUT');
  });

  it('delivers a cancellation to the handler as an aborted signal', async () => {
    const { ports, dispatcher, deliver } = setup();
    ports.handler = (_e, ctx) => new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
    deliver(1);
    dispatcher.feed({ type: 'cancel-requested', invocationId: 'inv-1' });
    await flush();
    expect(ports.signals.get(1)?.aborted).toBe(true);
    expect(ports.stored[0].failure?.code).toBe('CANCELLED');
  });

  it('feeds progress back as EVENT messages', async () => {
    const { ports, deliver } = setup();
    ports.handler = async (_e, ctx) => {
      ctx.progress({ step: 1 });
      return null;
    };
    deliver(1);
    await flush();
    expect(ports.calls).toContain('event EVENT');
  });

  it('naks instead of acking when the outcome cannot be recorded', async () => {
    const { ports, deliver } = setup();
    ports.storeFails = true;
    deliver(1);
    await flush();
    expect(ports.calls).toContain('nak 1 1000');
    expect(ports.calls).not.toContain('ack 1');
    expect(ports.replies).toEqual([]);
  });

  it('terminates and counts an invalid message', () => {
    const { ports, dispatcher } = setup();
    dispatcher.feed({ type: 'work-received', pullId: 1, ref: 9, data: new TextEncoder().encode('{}'), deliveryCount: 1, wallNow: Date.now() });
    expect(ports.calls).toEqual(expect.arrayContaining(['invalid REQUEST', 'dlq 9 invalid', 'term 9']));
    expect(ports.calls.indexOf('dlq 9 invalid')).toBeLessThan(ports.calls.indexOf('term 9'));
  });

  it('drains, and close() aborts what still runs without waiting forever', async () => {
    const { ports, dispatcher, deliver } = setup();
    ports.handler = () => new Promise(() => undefined);
    deliver(1);
    dispatcher.feed({ type: 'drain-requested' });
    dispatcher.feed({ type: 'drain-deadline-passed' });
    expect(ports.isDrained).toBe(false); // the pull is still open at the server
    dispatcher.feed({ type: 'pull-ended', pullId: 1, reason: '408' });
    expect(ports.isDrained).toBe(true);
    expect(ports.calls).toContain('nak 1 0');
    const closing = dispatcher.close(50);
    ports.advance(50);
    await closing;
    expect(ports.signals.get(1)?.aborted).toBe(true);
  });

  it('performs a stimulus fed from inside a port after the current one, so its timer is not lost', async () => {
    // An in-memory transport answers a pull synchronously, while the outcome that freed the slot is being performed.
    const ports = new FakePorts();
    const core = new WorkerState({ workerId: 'w1', capacity: 1, tasks: { echo: {} }, inProgressEveryMs: 100, pullExpiresMs: 1000 });
    const dispatcher = new WorkerDispatcher(core, ports);
    const work = (pullId: number, ref: number) => ({ type: 'work-received' as const, pullId, ref, data: request('echo', `inv-${ref}`), deliveryCount: 1, wallNow: Date.now() });
    ports.handler = (exec) => (exec.ref === 1 ? Promise.resolve('ok') : new Promise(() => undefined));
    dispatcher.feed({ type: 'start' });
    ports.onPull = (pullId) => dispatcher.feed(work(pullId, 2));
    dispatcher.feed(work(1, 1));
    dispatcher.feed({ type: 'pull-ended', pullId: 1, reason: 'complete' });
    await flush();
    // Ref 1 was acked and its slot re-pulled; ref 2 arrived inside that pull and must still get in-progress acks.
    expect(ports.calls).toEqual(expect.arrayContaining(['ack 1', 'event RUNNING']));
    ports.advance(100);
    expect(ports.calls).toContain('wpi 2');
  });

  it('survives a port that throws: that one action is lost and logged, the work goes on', () => {
    // The connection drops while the RUNNING event is published; the task must still run and settle.
    const { ports, deliver } = setup();
    ports.publishEvent = () => {
      throw new Error('connection closed');
    };
    deliver(1);
    return flush().then(() => {
      expect(ports.logs).toContain('error worker port failed');
      expect(ports.calls).toEqual(expect.arrayContaining(['store SUCCESS', 'ack 1']));
    });
  });

  it('fails a task whose result cannot be sent as JSON', async () => {
    // A handler returns a BigInt.
    const { ports, deliver } = setup();
    ports.handler = async () => ({ big: 10n });
    deliver(1);
    await flush();
    expect(ports.stored[0].failure).toMatchObject({ code: 'TASK_FAILED', retryable: false });
    expect(ports.calls).toContain('ack 1');
  });

  it('drops progress a handler reports after it was aborted', async () => {
    // A cancelled handler keeps reporting steps before it notices its signal.
    const { ports, dispatcher, deliver } = setup();
    let report!: TaskRuntime['progress'];
    ports.handler = (_e, ctx) => {
      report = ctx.progress;
      return new Promise(() => undefined);
    };
    deliver(1);
    dispatcher.feed({ type: 'cancel-requested', invocationId: 'inv-1' });
    report({ step: 2 });
    await flush();
    expect(ports.calls).not.toContain('event EVENT');
  });

  it('close() lets an outcome being recorded settle before it stops', async () => {
    // SIGTERM arrives while the events stream is acknowledging a result: ack it rather than run the task again.
    const { ports, dispatcher, deliver } = setup();
    let recorded!: () => void;
    ports.storeOutcome = (_id, r) => new Promise<void>((resolve) => (recorded = () => (ports.stored.push(r), resolve())));
    deliver(1);
    await flush();
    const closing = dispatcher.close(1000);
    recorded();
    await closing; // no timer advanced: close() returned because the work was done, not because grace ran out
    expect(ports.calls).toContain('ack 1');
  });

  it('close() hands running work back to JetStream at once, then ignores everything', async () => {
    // The process must exit now: another worker should start the task without waiting for ack_wait.
    const { ports, dispatcher, deliver } = setup();
    ports.handler = () => new Promise(() => undefined);
    deliver(1);
    const closing = dispatcher.close(50);
    expect(ports.calls).toContain('nak 1 0');
    expect(ports.signals.get(1)?.aborted).toBe(true);
    ports.advance(50);
    await closing;
    const before = ports.calls.length;
    deliver(2);
    ports.advance(1000);
    expect(ports.calls.length).toBe(before);
  });

  describe('child calls (ctx.call)', () => {
    it('sends the chain and a stable child id, frees the slot while waiting, and hands the result over on resume', async () => {
      // One slot: the parent waits for a child that this same worker then runs.
      const { ports, core, deliver } = setup({ echo: {} }, 1);
      let result: unknown;
      ports.handler = async (exec, ctx) => (exec.invocationId === 'parent' ? (result = await ctx.call('echo', { x: 1 })) : 'child-done');
      let answer!: (r: ResponseMessage) => void;
      ports.answerChild = () => new Promise((r) => (answer = r));
      deliver(1, 'echo', 'parent');
      await flush();
      expect(ports.childCalls[0]).toMatchObject({
        task: 'echo',
        request: { args: { x: 1 }, timeoutMs: 30_000, chain: [{ id: 'parent', task: 'echo', digest: argsDigest({ n: 1 }) }] },
      });
      expect(ports.childCalls[0].request.id).toMatch(/^c-[0-9a-f]{32}$/);
      expect(core.busy).toBe(0);
      answer(ResponseMessage.success(ports.childCalls[0].request.id, { y: 2 }));
      await flush();
      expect(result).toEqual({ y: 2 });
      expect(ports.stored.map((r) => [r.id, r.result])).toEqual([['parent', { y: 2 }]]);
    });

    it('derives the same child ids on another attempt, and different ones for another parent', async () => {
      const ids = async (parent: string): Promise<string[]> => {
        const { ports, deliver } = setup();
        ports.handler = async (_e, ctx) => Promise.all([ctx.call('echo', 1), ctx.call('echo', 2)]);
        deliver(1, 'echo', parent);
        await flush();
        return ports.childCalls.map((c) => c.request.id);
      };
      const first = await ids('p1');
      expect(new Set(first).size).toBe(2);
      expect(await ids('p1')).toEqual(first);
      expect(await ids('p2')).not.toEqual(first);
    });

    it('refuses at once a keyed child call that falls in its keyed parent\'s shard: it could only wait for the parent', async () => {
      // The parent came from key shard 3 of 16, which gives out nothing else until it ends.
      const ports = new FakePorts();
      const core = new WorkerState({ workerId: 'w1', capacity: 2, tasks: { echo: {} }, inProgressEveryMs: 100, pullExpiresMs: 1000 });
      const dispatcher = new WorkerDispatcher(core, ports, 16);
      dispatcher.feed({ type: 'start' });
      dispatcher.feed({ type: 'shards-owned', shards: [3] });
      const keyIn = (shard: number): string => Array.from({ length: 500 }, (_, i) => `k-${i}`).find((k) => keyShard(k, 16) === shard)!;
      const outcomes: unknown[] = [];
      ports.handler = async (_e, ctx) => {
        for (const key of [keyIn(3), keyIn(4)]) await ctx.call('echo', 1, { key }).then((r) => outcomes.push(r), (err: unknown) => outcomes.push(err));
        return 'done';
      };
      dispatcher.feed({ type: 'work-received', pullId: 2, ref: 9, data: request('echo', 'parent'), deliveryCount: 1, wallNow: Date.now() });
      await flush();
      expect(outcomes[0]).toMatchObject({ code: 'CYCLE_DETECTED', retryable: false, details: { task: 'echo', shard: 3 } });
      // Another shard is fine: only that call went out.
      expect(outcomes[1]).toBe(1);
      expect(ports.childCalls.map((c) => c.request.key)).toEqual([keyIn(4)]);
    });

    it('throws a child failure as a non-retryable MeshError with the child\'s code', async () => {
      const { ports, deliver } = setup();
      let caught: unknown;
      ports.handler = async (_e, ctx) => {
        try {
          await ctx.call('echo', 1);
        } catch (err) {
          caught = err;
        }
        return 'handled';
      };
      ports.answerChild = async (_t, r) => ResponseMessage.failure(r.id, Failure.create(FailureCode.OVERLOADED, 'busy'));
      deliver(1);
      await flush();
      expect(caught).toBeInstanceOf(MeshError);
      expect(caught).toMatchObject({ code: 'OVERLOADED', retryable: false, message: 'busy' });
    });

    it('asks again with the same child id when no answer comes, and gives up after four asks', async () => {
      // The child's router died with the question (or the child is being recovered past its timeoutMs): the same id
      // asked again is answered with that invocation's outcome.
      const { ports, deliver } = setup();
      let result: unknown;
      ports.handler = async (_e, ctx) => (result = await ctx.call('echo', { x: 1 }).catch((err: unknown) => err));
      let asks = 0;
      ports.answerChild = async (_t, r) => {
        asks += 1;
        if (asks < 3) throw new MeshError(FailureCode.INTERNAL, 'no answer', { retryable: true });
        return ResponseMessage.success(r.id, { y: 3 });
      };
      deliver(1, 'echo', 'parent');
      for (let i = 0; i < 3; i++) {
        await flush();
        ports.advance(250);
      }
      await flush();
      expect(new Set(ports.childCalls.map((c) => c.request.id)).size).toBe(1);
      expect(ports.childCalls).toHaveLength(3);
      expect(result).toEqual({ y: 3 });

      const second = setup();
      let caught: unknown;
      second.ports.handler = async (_e, ctx) => ctx.call('echo', 1).catch((err: unknown) => (caught = err));
      second.ports.answerChild = async () => {
        throw new MeshError(FailureCode.INTERNAL, 'no answer', { retryable: true });
      };
      second.deliver(1, 'echo', 'parent');
      for (let i = 0; i < 5; i++) {
        await flush();
        second.ports.advance(250);
      }
      await flush();
      expect(second.ports.childCalls).toHaveLength(4);
      expect(caught).toMatchObject({ code: 'INTERNAL' });
    });

    it('cancels the child when the parent is cancelled while it waits', async () => {
      const { ports, dispatcher, deliver } = setup();
      let outcome: unknown;
      ports.handler = async (_e, ctx) => ctx.call('echo', 1).catch((err: unknown) => (outcome = err));
      ports.answerChild = () => new Promise(() => undefined);
      deliver(1, 'echo', 'parent');
      await flush();
      dispatcher.feed({ type: 'cancel-requested', invocationId: 'parent' });
      await flush();
      expect(outcome).toMatchObject({ code: 'CANCELLED' });
      expect(ports.cancelled).toEqual([ports.childCalls[0].request.id]);
      expect(ports.stored[0].failure?.code).toBe('CANCELLED');
    });
  });

  describe('running claims', () => {
    it('runs one invocation of a task with running concurrency at a time and releases the claim when done', async () => {
      const { ports, deliver } = setup({ lock: { concurrency: TaskConcurrency.create({ running: 'task' }) } });
      const finishers: Array<() => void> = [];
      ports.handler = () => new Promise((resolve) => finishers.push(() => resolve('ok')));
      deliver(1, 'lock', 'a');
      deliver(2, 'lock', 'b');
      await flush();
      expect(finishers).toHaveLength(1);
      expect(ports.claims.get('run.lock')).toBe('a');
      finishers[0]();
      await flush();
      expect(ports.calls).toContain('release run.lock');
      // b asks again after its backoff and runs.
      ports.advance(60);
      await flush();
      expect(finishers).toHaveLength(2);
      expect(ports.claims.get('run.lock')).toBe('b');
    });
  });
});

