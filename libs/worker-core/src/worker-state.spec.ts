import fc from 'fast-check';
import { FailureCode, Failure, RequestMessage, TaskConcurrency } from '@taskmesh/protocol';
import type { Instruction } from './instructions.js';
import type { Stimulus } from './stimuli.js';
import { WorkerState, type WorkerCoreConfig } from './worker-state.js';

// --- factories -----------------------------------------------------------------------------------------------
let seq = 0;
const sid = (): string => `t${++seq}`;
const WALL = Date.parse('2026-11-23T00:00:00Z');

const config = (over: Partial<WorkerCoreConfig> = {}): WorkerCoreConfig => ({
  workerId: 'w1', capacity: 4, tasks: { echo: {}, slow: { timeoutMs: 1000 } }, inProgressEveryMs: 300, pullExpiresMs: 2000,
  minRepullBatch: 2, maxPullsPerTask: 4, ...over,
});

const request = (over: Partial<{ id: string; task: string; args: unknown; deadline: number }> = {}): Uint8Array =>
  new TextEncoder().encode(JSON.stringify(RequestMessage.create({
    id: over.id ?? 'inv-1', task: over.task ?? 'echo', args: (over.args ?? { n: 1 }) as never,
    deadline: over.deadline ?? WALL + 30_000, createdAt: new Date(WALL).toISOString(),
  })));

const start = (at = 0): Stimulus => ({ type: 'start', stimulusId: sid(), at });
const received = (pullId: number, ref: number, over: Partial<Extract<Stimulus, { type: 'work-received' }>> = {}): Stimulus => ({
  type: 'work-received', stimulusId: sid(), at: 10, pullId, ref, data: request(), deliveryCount: 1, replyTo: 'mesh.reply.r1.inv-1', wallNow: WALL, ...over,
});
const finished = (ref: number, result: unknown = { n: 1 }, at = 20): Stimulus => ({ type: 'task-finished', stimulusId: sid(), at, ref, outcome: { ok: true, result: result as never } });
const failed = (ref: number, code: FailureCode = FailureCode.TASK_FAILED): Stimulus => ({
  type: 'task-finished', stimulusId: sid(), at: 20, ref, outcome: { ok: false, failure: Failure.create(code, 'boom') },
});
const stored = (ref: number): Stimulus => ({ type: 'outcome-stored', stimulusId: sid(), at: 30, ref });
const storeFailed = (ref: number): Stimulus => ({ type: 'outcome-store-failed', stimulusId: sid(), at: 30, ref, error: 'no stream' });
const tick = (at: number): Stimulus => ({ type: 'tick', stimulusId: sid(), at });
const ended = (pullId: number, at = 50): Stimulus => ({ type: 'pull-ended', stimulusId: sid(), at, pullId, reason: '408 Request Timeout' });

const ofType = <T extends Instruction['type']>(out: Instruction[], type: T): Extract<Instruction, { type: T }>[] =>
  out.filter((i): i is Extract<Instruction, { type: T }> => i.type === type);
const types = (out: Instruction[]): string[] => out.map((i) => i.type).filter((t) => t !== 'log' && t !== 'schedule-tick');

describe(WorkerState.name, () => {
  it('probes each task with one slot on start, then gives the free slots to the task that receives work', () => {
    // A fresh worker with 4 slots hosting two tasks; work arrives for echo.
    const core = new WorkerState(config());
    const out = core.handle(start());
    // Probes wait at the server only briefly (their slot is soon offered to the next task).
    expect(ofType(out, 'pull')).toEqual([
      expect.objectContaining({ pullId: 1, task: 'echo', batch: 1, expiresMs: 500 }),
      expect.objectContaining({ pullId: 2, task: 'slow', batch: 1 }),
    ]);
    expect(core.freeSlots).toBe(2);
    expect(ofType(core.handle(received(1, 7)), 'pull')).toEqual([expect.objectContaining({ task: 'echo', batch: 2 })]);
    expect(core.freeSlots).toBe(0);
  });

  it('keeps serving a task after its first call when it has fewer slots than tasks', () => {
    // One slot, two tasks: echo's first call runs; the next echo must still be pulled (a regression: it starved).
    const core = new WorkerState(config({ capacity: 1 }));
    core.handle(start(), received(1, 7), ended(1), finished(7));
    let pulls = ofType(core.handle(stored(7)), 'pull');
    const seen = new Set<string>();
    for (let round = 0; round < 4 && !seen.has('echo'); round++) {
      for (const p of pulls) seen.add(p.task);
      // Each probe for the other task expires empty, handing the slot on.
      pulls = pulls.flatMap((p) => ofType(core.handle(ended(p.pullId)), 'pull'));
    }
    for (const p of pulls) seen.add(p.task);
    expect(seen.has('echo')).toBe(true);
  });

  it('lets a task go quiet when its pull ends without work', () => {
    const core = new WorkerState(config({ capacity: 3 }));
    // echo's probe (pull 1) delivers and completes; echo is hot, so its freed slot goes to a new pull (3).
    const hot = core.handle(start(), received(1, 7), ended(1));
    expect(ofType(hot, 'pull').at(-1)).toMatchObject({ pullId: 3, task: 'echo' });
    // Pull 3 expires empty: echo has gone quiet and gets a one-slot probe again.
    const out = core.handle(ended(3));
    expect(ofType(out, 'pull')).toEqual([expect.objectContaining({ task: 'echo', batch: 1 })]);
  });

  it('runs a valid request: RUNNING event, then execute', () => {
    // The router placed echo({n:1}); the worker's pull delivers it.
    const core = new WorkerState(config());
    core.handle(start());
    const out = core.handle(received(1, 7));
    expect(types(out)).toEqual(['publish-event', 'execute', 'pull']);
    expect(ofType(out, 'publish-event')[0].response).toMatchObject({ state: 'RUNNING', id: 'inv-1', attempt: 1, worker: 'w1' });
    expect(ofType(out, 'execute')[0]).toMatchObject({ ref: 7, invocationId: 'inv-1', task: 'echo', args: { n: 1 }, attempt: 1 });
    expect(core.inflight).toBe(1);
  });

  it('records the outcome before it replies and acks, then pulls for the freed slot', () => {
    // A one-slot worker finishes its only task: the result must be durable before the work message goes.
    const core = new WorkerState(config({ capacity: 1, tasks: { echo: {} } }));
    core.handle(start(), received(1, 7), ended(1));
    const done = core.handle(finished(7, { n: 1 }));
    expect(types(done)).toEqual(['store-outcome']);
    expect(ofType(done, 'store-outcome')[0].response).toMatchObject({ state: 'SUCCESS', data: { result: { n: 1 } } });
    const after = core.handle(stored(7));
    expect(types(after)).toEqual(['reply', 'ack', 'pull']);
    expect(ofType(after, 'reply')[0]).toMatchObject({ replyTo: 'mesh.reply.r1.inv-1', response: expect.objectContaining({ state: 'SUCCESS' }) });
    expect(core.inflight).toBe(0);
  });

  it('reports a task failure as a FAILURE outcome', () => {
    // The handler threw a plain error (the dispatcher turned it into TASK_FAILED).
    const core = new WorkerState(config());
    core.handle(start(), received(1, 7));
    const out = core.handle(failed(7));
    expect(ofType(out, 'store-outcome')[0].response.failure).toMatchObject({ code: 'TASK_FAILED', message: 'boom' });
  });

  it('schedules a retry of a retryable failure: WAITING, then nak with the backoff; no outcome, no reply', () => {
    // A flaky dependency: attempt 1 of a task with a 3-attempt policy fails retryably.
    const core = new WorkerState(config({ tasks: { flaky: { retry: { maxAttempts: 3, backoffMs: 200 } } }, maxDeliver: 5 }));
    core.handle(start(), received(1, 7, { data: request({ task: 'flaky' }) }));
    const retryable = Failure.create(FailureCode.TASK_FAILED, 'flaky', { retryable: true });
    const out = core.handle({ type: 'task-finished', stimulusId: sid(), at: 20, ref: 7, outcome: { ok: false, failure: retryable }, jitter: 0 });
    expect(types(out).slice(0, 3)).toEqual(['publish-event', 'publish-event', 'nak']);
    expect(ofType(out, 'publish-event').map((i) => i.response.state)).toEqual(['EVENT', 'WAITING']);
    expect(ofType(out, 'nak')[0]).toMatchObject({ ref: 7, delayMs: 100 });
    expect(ofType(out, 'store-outcome')).toEqual([]);
    expect(ofType(out, 'reply')).toEqual([]);
    expect(core.inflight).toBe(0);
  });

  it('makes the failure final on the last attempt, when not retryable, and never beyond max_deliver', () => {
    // Retries stop somewhere: the policy's last attempt, a non-retryable failure, or JetStream's own limit.
    const retryable = Failure.create(FailureCode.TASK_FAILED, 'flaky', { retryable: true });
    const fail = (ref: number, failure = retryable): Stimulus => ({ type: 'task-finished', stimulusId: sid(), at: 20, ref, outcome: { ok: false, failure }, jitter: 0.5 });
    const attempt = (cfg: Partial<WorkerCoreConfig>, deliveryCount: number, failure = retryable) => {
      const core = new WorkerState(config({ tasks: { flaky: { retry: { maxAttempts: 3 } } }, ...cfg }));
      core.handle(start(), received(1, 7, { data: request({ task: 'flaky' }), deliveryCount }));
      return types(core.handle(fail(7, failure)));
    };
    // Attempts exhausted: the work is dead-lettered, and its FAILURE recorded. A non-retryable failure is just final.
    expect(attempt({}, 3)).toEqual(['dead-letter', 'store-outcome']);
    expect(attempt({}, 1, Failure.create(FailureCode.TASK_FAILED, 'bad input', { retryable: false }))).toEqual(['store-outcome']);
    expect(attempt({ maxDeliver: 2 }, 2)).toEqual(['dead-letter', 'store-outcome']);
    expect(attempt({ maxDeliver: 2 }, 1)).toEqual(expect.arrayContaining(['nak']));
  });

  it('numbers redriven work on from the attempts before its redrive, runs it past its deadline, and gives it its retries again', () => {
    // An operator redrove an invocation dead-lettered after 3 attempts, long after its caller's deadline.
    const retryable = Failure.create(FailureCode.TASK_FAILED, 'flaky', { retryable: true });
    const core = new WorkerState(config({ tasks: { flaky: { retry: { maxAttempts: 3 } } }, maxDeliver: 5 }));
    core.handle(start());
    const redriven = { data: request({ task: 'flaky', deadline: WALL - 60_000 }), redrivenAfter: 3 };
    expect(ofType(core.handle(received(1, 7, redriven)), 'execute')).toEqual([expect.objectContaining({ attempt: 4 })]);
    // Its first delivery fails retryably: a retry (the policy counts from the redrive), reported as attempt 4.
    const out = core.handle({ type: 'task-finished', stimulusId: sid(), at: 20, ref: 7, outcome: { ok: false, failure: retryable }, jitter: 0 });
    expect(types(out)).toEqual(expect.arrayContaining(['nak']));
    expect(ofType(out, 'publish-event').find((i) => i.response.state === 'WAITING')?.response.attempt).toBe(4);
    // Its third delivery is the policy's last: dead-lettered again, as attempt 6.
    core.handle(received(1, 8, { ...redriven, deliveryCount: 3 }));
    const last = core.handle({ type: 'task-finished', stimulusId: sid(), at: 30, ref: 8, outcome: { ok: false, failure: retryable }, jitter: 0 });
    expect(types(last)).toEqual(['dead-letter', 'store-outcome']);
    expect(ofType(last, 'store-outcome')[0].response).toMatchObject({ state: 'FAILURE', attempt: 6 });
  });

  it('never acks an outcome it could not record: nak so another attempt records it', () => {
    // The events stream is unavailable when the task finishes.
    const core = new WorkerState(config({ nakAfterStoreFailureMs: 1500 }));
    core.handle(start(), received(1, 7), finished(7));
    const out = core.handle(storeFailed(7));
    expect(ofType(out, 'nak')).toEqual([expect.objectContaining({ ref: 7, delayMs: 1500 })]);
    expect(ofType(out, 'ack')).toEqual([]);
    expect(ofType(out, 'reply')).toEqual([]);
    expect(core.inflight).toBe(0);
  });

  it('terminates an invalid request, answers it, counts it, and never executes it', () => {
    // A message on the work stream that is not a REQUEST (a bug or a hostile publisher).
    const core = new WorkerState(config());
    core.handle(start());
    const out = core.handle(received(1, 7, { data: new TextEncoder().encode('{"v":1,"type":"REQUEST","id":"x"}') }));
    expect(types(out)).toEqual(['count-invalid', 'reply', 'dead-letter', 'term', 'pull']);
    expect(ofType(out, 'dead-letter')[0]).toMatchObject({ ref: 7, task: 'invalid', reason: expect.stringContaining('invalid request') });
    expect(ofType(out, 'reply')[0].response.failure?.code).toBe('BAD_REQUEST');
    expect(ofType(out, 'execute')).toEqual([]);
    expect(core.inflight).toBe(0);
  });

  it('terminates without a reply when an invalid message has no reply subject', () => {
    // Garbage bytes published straight onto the work subject by something that is not a router.
    const core = new WorkerState(config());
    core.handle(start());
    const out = core.handle(received(1, 7, { data: new Uint8Array([0xff, 0x00]), replyTo: undefined }));
    expect(types(out)).toEqual(['count-invalid', 'dead-letter', 'term', 'pull']);
  });

  it('fails a task it does not host with UNKNOWN_TASK and terminates the message', () => {
    // A consumer misconfiguration routes another task's work to this worker.
    const core = new WorkerState(config());
    core.handle(start());
    const out = core.handle(received(1, 7, { data: request({ task: 'other' }) }));
    expect(ofType(out, 'store-outcome')[0].response.failure?.code).toBe('UNKNOWN_TASK');
    expect(types(core.handle(stored(7)))).toEqual(expect.arrayContaining(['reply', 'term']));
  });

  it('never starts work past its deadline', () => {
    // The queue was backed up; the caller's deadline passed before any worker took the message.
    const core = new WorkerState(config());
    core.handle(start());
    const out = core.handle(received(1, 7, { data: request({ deadline: WALL - 1 }) }));
    expect(ofType(out, 'execute')).toEqual([]);
    expect(ofType(out, 'store-outcome')[0].response.failure?.code).toBe('TIMEOUT');
  });

  it('carries work that started before to its outcome, past its deadline', () => {
    // Its first worker was killed mid-run; JetStream redelivers it after the deadline. The shell read its record:
    // it started. Recovery is not a first start, so the deadline does not apply.
    const core = new WorkerState(config({ capacity: 1 }));
    core.handle(start());
    const late = { data: request({ deadline: WALL - 1 }), deliveryCount: 2, startedBefore: true };
    expect(ofType(core.handle(received(1, 7, late)), 'execute')).toEqual([expect.objectContaining({ attempt: 2 })]);
    // Another one waits for the only slot past its deadline: it still starts when the slot frees.
    core.handle(received(1, 8, { ...late, data: request({ id: 'inv-2', deadline: WALL - 1 }) }));
    expect(core.inflight).toBe(2);
    expect(ofType(core.handle(tick(5_000)), 'store-outcome')).toEqual([]);
    core.handle(finished(7));
    expect(ofType(core.handle(stored(7)), 'execute')).toEqual([expect.objectContaining({ invocationId: 'inv-2' })]);
  });

  it('a redelivery that never started is still refused past its deadline', () => {
    // Handed back by a draining worker before it started: a second delivery, but no start.
    const core = new WorkerState(config());
    core.handle(start());
    const out = core.handle(received(1, 7, { data: request({ deadline: WALL - 1 }), deliveryCount: 2, startedBefore: false }));
    expect(ofType(out, 'execute')).toEqual([]);
    expect(ofType(out, 'store-outcome')[0].response.failure?.code).toBe('TIMEOUT');
  });

  it('the attempt number is the JetStream delivery count', () => {
    // A worker died with this message; JetStream delivers it a second time.
    const core = new WorkerState(config());
    core.handle(start());
    expect(ofType(core.handle(received(1, 7, { deliveryCount: 2 })), 'execute')[0].attempt).toBe(2);
  });

  it('sends in-progress acks while a task runs and schedules the next tick', () => {
    // A long task: JetStream must not redeliver it while it is alive.
    const core = new WorkerState(config({ inProgressEveryMs: 300 }));
    core.handle(start());
    const out = core.handle(received(1, 7, { at: 10 }));
    expect(ofType(out, 'schedule-tick')).toEqual([expect.objectContaining({ at: 310 })]);
    expect(ofType(core.handle(tick(200)), 'in-progress')).toEqual([]);
    const at310 = core.handle(tick(310));
    expect(ofType(at310, 'in-progress')).toEqual([expect.objectContaining({ ref: 7 })]);
    expect(ofType(at310, 'schedule-tick')).toEqual([expect.objectContaining({ at: 610 })]);
  });

  it('aborts a handler that runs past its timeout, fails it with TIMEOUT, and ignores its late result', () => {
    // `slow` hangs; its 1000 ms timeout passes.
    const core = new WorkerState(config());
    core.handle(start());
    core.handle(received(1, 7, { at: 0, data: request({ task: 'slow' }) }));
    const out = core.handle(tick(1000));
    expect(ofType(out, 'abort')).toEqual([expect.objectContaining({ ref: 7, reason: 'timeout' })]);
    expect(ofType(out, 'store-outcome')[0].response.failure?.code).toBe('TIMEOUT');
    const late = core.handle(finished(7, 'too late', 1500));
    expect(types(late)).toEqual([]);
    expect(ofType(late, 'log')[0].message).toContain('late task outcome ignored');
  });

  it('cancels a running invocation: abort, then a CANCELLED outcome', () => {
    // A caller calls mesh.invocations.cancel while the task runs here; a cancel for work not here is remembered.
    const core = new WorkerState(config());
    core.handle(start(), received(1, 7));
    const out = core.handle({ type: 'cancel-requested', stimulusId: sid(), at: 15, invocationId: 'inv-1' });
    expect(ofType(out, 'abort')).toEqual([expect.objectContaining({ ref: 7, reason: 'cancelled' })]);
    expect(ofType(out, 'store-outcome')[0].response.failure?.code).toBe('CANCELLED');
    expect(core.handle({ type: 'cancel-requested', stimulusId: sid(), at: 16, invocationId: 'unknown' })).toEqual([]);
  });

  it('never starts work that was cancelled while it waited in the queue', () => {
    // The cancellation reached this worker before the message did.
    const core = new WorkerState(config());
    core.handle(start());
    expect(core.handle({ type: 'cancel-requested', stimulusId: sid(), at: 5, invocationId: 'inv-1' })).toEqual([]);
    const out = core.handle(received(1, 7));
    expect(ofType(out, 'execute')).toEqual([]);
    expect(ofType(out, 'store-outcome')[0].response.failure).toMatchObject({ code: 'CANCELLED' });
  });

  it('bounds the cancelled ids it remembers', () => {
    // A flood of cancellations for work that never comes here must not grow memory without bound.
    const core = new WorkerState(config({ maxCancelled: 2 }));
    core.handle(start());
    for (const id of ['inv-1', 'inv-2', 'inv-3']) core.handle({ type: 'cancel-requested', stimulusId: sid(), at: 5, invocationId: id });
    // inv-1 was forgotten: its work runs.
    expect(ofType(core.handle(received(1, 7)), 'execute')).toHaveLength(1);
  });

  it('publishes progress as EVENT messages while running', () => {
    // A long task reports its steps so a caller can show a progress bar.
    const core = new WorkerState(config());
    core.handle(start(), received(1, 7));
    const out = core.handle({ type: 'task-progress', stimulusId: sid(), at: 12, ref: 7, details: { step: 1, steps: 3 } });
    expect(ofType(out, 'publish-event')[0].response).toMatchObject({ state: 'EVENT', data: { eventType: 'progress', details: { step: 1, steps: 3 } } });
  });

  it('hands back a message that arrives with no slot reserved for it', () => {
    // A delivery for a pull the worker already considers over.
    const core = new WorkerState(config());
    core.handle(start());
    expect(types(core.handle(received(99, 7)))).toEqual(['nak']);
  });

  it('drains: stops pulling, finishes running work, then reports drained once pulls have ended', () => {
    // SIGTERM with one task running and one pull still open at the server.
    const core = new WorkerState(config({ capacity: 2, tasks: { echo: {} } }));
    core.handle(start(), received(1, 7));
    expect(types(core.handle({ type: 'drain-requested', stimulusId: sid(), at: 15 }))).toEqual([]);
    // A late delivery for the open pull goes straight back.
    expect(types(core.handle(received(1, 8, { data: request({ id: 'inv-2' }) })))).toEqual(['nak']);
    core.handle(finished(7));
    expect(types(core.handle(stored(7)))).toEqual(['reply', 'ack']);
    expect(types(core.handle(ended(1)))).toEqual(['drained']);
    expect(types(core.handle(tick(100)))).toEqual([]);
  });

  it('releases still-running work to other workers when the drain deadline passes', () => {
    // SIGTERM, and the running task outlives MESH_DRAIN_TIMEOUT_MS: another worker should start it now.
    const core = new WorkerState(config({ capacity: 1, tasks: { echo: {} } }));
    core.handle(start(), received(1, 7), ended(1), { type: 'drain-requested', stimulusId: sid(), at: 15 });
    const out = core.handle({ type: 'drain-deadline-passed', stimulusId: sid(), at: 5000 });
    expect(types(out)).toEqual(['abort', 'nak', 'drained']);
    expect(ofType(out, 'nak')[0]).toMatchObject({ ref: 7, delayMs: 0 });
    expect(ofType(core.handle(finished(7)), 'store-outcome')).toEqual([]);
  });

  it('keeps a story per invocation', () => {
    // A post-mortem: what did this worker see and do about inv-1?
    const core = new WorkerState(config());
    core.handle(start(), received(1, 7), finished(7), stored(7));
    const story = core.story('inv-1');
    expect(story.map((e) => e.stimulus.type)).toEqual(['work-received', 'task-finished', 'outcome-stored']);
    expect(story[0].stimulus).not.toHaveProperty('data');
    expect(core.story('nobody')).toEqual([]);
  });

  it('bounds the stimulus log', () => {
    // A long-lived worker keeps only the recent past.
    const core = new WorkerState(config({ logSize: 3 }));
    for (let i = 0; i < 10; i++) core.handle(tick(i));
    core.handle(received(1, 7));
    expect(core.story('inv-1')).toHaveLength(1);
  });

  it('exposes its derived state read-only: capacity, tasks, slots, inflight, draining', () => {
    // What the heartbeat and the health check read about a worker with one task running.
    const core = new WorkerState(config({ capacity: 3, tasks: { slow: {}, echo: {} } }));
    core.handle(start(), received(1, 7));
    expect(core).toMatchObject({ capacity: 3, tasks: ['echo', 'slow'], inflight: 1, draining: false });
    expect(core.inflight + core.reserved + core.freeSlots).toBe(3);
    core.handle({ type: 'drain-requested', stimulusId: sid(), at: 15 });
    expect(core.draining).toBe(true);
  });

  it('tells the handler when it will be aborted, and only for a task with a timeout', () => {
    // The handler of `slow` (1000 ms timeout) can budget its work; echo has no limit.
    const core = new WorkerState(config());
    core.handle(start());
    expect(ofType(core.handle(received(1, 7, { at: 40, data: request({ task: 'slow' }) })), 'execute')[0]).toMatchObject({ deadlineAt: 1040 });
    expect(ofType(core.handle(received(2, 8, { data: request({ id: 'inv-2' }) })), 'execute')[0]).not.toHaveProperty('deadlineAt');
  });

  it('ignores a delivery whose ref it already holds, and keeps its counts', () => {
    // A dispatcher bug hands the same ref twice: settling the second would settle the first.
    const core = new WorkerState(config());
    core.handle(start(), received(1, 7));
    const out = core.handle(received(2, 7, { data: request({ id: 'inv-2' }) }));
    expect(types(out)).toEqual([]);
    expect(ofType(out, 'log')[0]).toMatchObject({ level: 'error' });
    expect(core.inflight).toBe(1);
    expect(types(core.handle(finished(7)))).toEqual(['store-outcome']);
  });

  it('contains an internal error: logs it, hands the delivery back, and goes on', () => {
    // A fault inside the core (here a task table that throws) must not escape handle() nor strand the message.
    const tasks = new Proxy({ echo: {}, boom: {} } as WorkerCoreConfig['tasks'], {
      get: (target, key) => {
        if (key === 'boom') throw new Error('broken task table');
        return Reflect.get(target, key);
      },
    });
    const core = new WorkerState(config({ capacity: 2, tasks }));
    core.handle(start());
    const out = core.handle(received(1, 7, { data: request({ task: 'boom' }) }));
    expect(ofType(out, 'log')).toEqual([expect.objectContaining({ level: 'error', message: expect.stringContaining('worker core error') })]);
    expect(ofType(out, 'nak')).toEqual([expect.objectContaining({ ref: 7, delayMs: 0 })]);
    expect(core.inflight).toBe(0);
    expect(ofType(core.handle(received(2, 8, { data: request({ id: 'inv-2' }) })), 'execute')).toHaveLength(1);
  });

  it('fails a task whose result cannot be sent as JSON, instead of leaving it running', () => {
    // A handler returns a BigInt: no RESPONSE can carry it, and retrying would return it again.
    const core = new WorkerState(config());
    core.handle(start(), received(1, 7));
    const out = core.handle({ type: 'task-finished', stimulusId: sid(), at: 20, ref: 7, outcome: { ok: true, result: { n: 10n } } });
    expect(ofType(out, 'store-outcome')[0].response.failure).toMatchObject({ code: 'TASK_FAILED', retryable: false });
    expect(types(core.handle(stored(7)))).toEqual(expect.arrayContaining(['reply', 'ack']));
  });

  it('drops a progress report that cannot be sent as JSON, and the task goes on', () => {
    // A handler reports progress with a circular object.
    const core = new WorkerState(config());
    core.handle(start(), received(1, 7));
    const details: Record<string, unknown> = {};
    details['self'] = details;
    const out = core.handle({ type: 'task-progress', stimulusId: sid(), at: 12, ref: 7, details: details as never });
    expect(types(out)).toEqual([]);
    expect(ofType(out, 'log')[0]).toMatchObject({ level: 'warn' });
    expect(ofType(core.handle(finished(7)), 'store-outcome')[0].response.state).toBe('SUCCESS');
  });

  it('fails a running task with INTERNAL when the core breaks while deciding its outcome', () => {
    // A fault inside the core (the task table throws on its second read) must not leave the work running forever.
    let reads = 0;
    const tasks = new Proxy({ flaky: { retry: { maxAttempts: 3 } } } as WorkerCoreConfig['tasks'], {
      get: (target, key) => {
        if (key === 'flaky' && ++reads > 1) throw new Error('broken task table');
        return Reflect.get(target, key);
      },
    });
    const core = new WorkerState(config({ tasks }));
    core.handle(start(), received(1, 7, { data: request({ task: 'flaky' }) }));
    const out = core.handle(failed(7, FailureCode.OVERLOADED)); // retryable: the core reads the retry policy
    expect(ofType(out, 'log')[0]).toMatchObject({ level: 'error' });
    expect(ofType(out, 'store-outcome')[0].response.failure?.code).toBe('INTERNAL');
    expect(types(core.handle(stored(7)))).toEqual(expect.arrayContaining(['ack']));
    expect(core.inflight).toBe(0);
  });

  describe('running concurrency', () => {
    const lockConfig = (capacity = 2): WorkerCoreConfig => config({ capacity, tasks: { echo: {}, lock: { concurrency: TaskConcurrency.create({ running: 'keys', keyArgs: ['db'] }) } } });
    const lockRequest = (id: string, db = 'main'): Uint8Array => request({ id, task: 'lock', args: { db } });
    const claimResult = (ref: number, invocationId: string, claimed: boolean, at = 20): Stimulus => ({
      type: 'claim-result', stimulusId: sid(), at, ref, key: 'run.lock.x', invocationId, claimed,
    });

    it('claims before it starts, holding no slot meanwhile, and releases the claim once the outcome is recorded', () => {
      // A `lock` invocation arrives while another one of the same db runs elsewhere.
      const core = new WorkerState(lockConfig());
      core.handle(start());
      const out = core.handle(received(1, 7, { data: lockRequest('inv-a') }));
      const claim = ofType(out, 'claim')[0];
      expect(claim).toMatchObject({ ref: 7, invocationId: 'inv-a', attempt: 1 });
      expect(claim.key).toMatch(/^run\.lock\.[0-9a-f]{24}$/);
      expect(types(out)).not.toContain('execute');
      expect(core.busy).toBe(0);
      // Held by another: asked again after 50 ms, then 100 ms (the wait doubles).
      const busy = core.handle(claimResult(7, 'inv-a', false, 20));
      expect(ofType(busy, 'schedule-tick')[0].at).toBe(70);
      expect(ofType(core.handle(tick(70)), 'claim')).toHaveLength(1);
      core.handle(claimResult(7, 'inv-a', false, 80));
      expect(ofType(core.handle(tick(150)), 'claim')).toHaveLength(0);
      expect(ofType(core.handle(tick(180)), 'claim')).toHaveLength(1);
      // Free now: it starts, and its claim goes once its outcome is stored.
      expect(types(core.handle(claimResult(7, 'inv-a', true, 190)))).toEqual(expect.arrayContaining(['publish-event', 'execute']));
      core.handle(finished(7, 'done', 200));
      const done = core.handle(stored(7));
      expect(types(done)).toEqual(expect.arrayContaining(['ack', 'release-claim']));
      expect(ofType(done, 'release-claim')[0]).toMatchObject({ key: claim.key, invocationId: 'inv-a' });
    });

    it('never starts work cancelled or expired while it waits for its claim, and gives back a claim granted too late', () => {
      const core = new WorkerState(lockConfig());
      core.handle(start());
      core.handle(received(1, 7, { data: lockRequest('inv-a') }), claimResult(7, 'inv-a', false));
      const cancelled = core.handle({ type: 'cancel-requested', stimulusId: sid(), at: 30, invocationId: 'inv-a' });
      expect(ofType(cancelled, 'store-outcome')[0].response.failure).toMatchObject({ code: 'CANCELLED', message: 'cancelled before it started' });
      expect(types(cancelled)).not.toContain('abort');
      expect(types(core.handle(claimResult(7, 'inv-a', true, 40)))).toEqual(['release-claim']);
      // Another one whose deadline passes while it waits.
      core.handle(received(1, 8, { data: request({ id: 'inv-b', task: 'lock', args: { db: 'main' }, deadline: WALL + 1000 }) }), claimResult(8, 'inv-b', false));
      const expired = core.handle(tick(10 + 1000));
      expect(ofType(expired, 'store-outcome')[0].response.failure?.code).toBe('TIMEOUT');
    });

    it('hands work that has not started back at once when draining', () => {
      const core = new WorkerState(lockConfig());
      core.handle(start());
      core.handle(received(1, 7, { data: lockRequest('inv-a') }), claimResult(7, 'inv-a', false));
      const out = core.handle({ type: 'drain-requested', stimulusId: sid(), at: 30 });
      expect(ofType(out, 'nak')).toEqual([expect.objectContaining({ ref: 7, delayMs: 0 })]);
      expect(core.inflight).toBe(0);
    });

    it('re-arms its timer when a tick fires a moment early', () => {
      // setTimeout may fire a fraction of a millisecond before the instant asked for: the claim must still be retried.
      const core = new WorkerState(lockConfig());
      core.handle(start());
      core.handle(received(1, 7, { data: lockRequest('inv-a') }));
      expect(ofType(core.handle(claimResult(7, 'inv-a', false, 20)), 'schedule-tick')[0].at).toBe(70);
      const early = core.handle(tick(69.6));
      expect(ofType(early, 'claim')).toHaveLength(0);
      expect(ofType(early, 'schedule-tick')).toEqual([expect.objectContaining({ at: 70 })]);
    });
  });

  describe('child calls', () => {
    const childStarted = (ref: number, at = 20): Stimulus => ({ type: 'child-call-started', stimulusId: sid(), at, ref, task: 'echo' });
    const childEnded = (ref: number, at = 30): Stimulus => ({ type: 'child-call-ended', stimulusId: sid(), at, ref, task: 'echo' });

    it('frees the slot of a parent waiting for a child, pulls the child\'s task first, and resumes the parent ahead of new work', () => {
      // One slot: the parent calls echo; echo must run here, then the parent goes on before anything else starts.
      const core = new WorkerState(config({ capacity: 1, tasks: { echo: {}, slow: {}, zzz: {} } }));
      // Probes go round: echo (pull 1), then slow (pull 2), which delivers the parent and is complete.
      expect(ofType(core.handle(start(), ended(1)), 'pull').map((p) => p.task)).toEqual(['echo', 'slow']);
      core.handle(received(2, 7, { data: request({ id: 'parent', task: 'slow' }) }), ended(2));
      // Next in turn would be zzz; echo goes first because the parent waits for it.
      const blocked = core.handle(childStarted(7));
      expect(core.busy).toBe(0);
      expect(ofType(blocked, 'pull')[0]).toMatchObject({ task: 'echo', batch: 1 });
      const pullId = ofType(blocked, 'pull')[0].pullId;
      core.handle(received(pullId, 8, { data: request({ id: 'child' }) }));
      expect(core.busy).toBe(1);
      // The child's answer came back before the child's own settle (another worker ran it): the parent waits for the slot.
      expect(ofType(core.handle(childEnded(7)), 'resume')).toEqual([]);
      core.handle(finished(8));
      const resumed = core.handle(stored(8));
      expect(ofType(resumed, 'resume')).toEqual([expect.objectContaining({ ref: 7 })]);
      expect(core.busy).toBe(1);
    });

    it('keeps the slot of a parent beyond maxWaitingParents and resumes it as soon as its children are done', () => {
      const core = new WorkerState(config({ capacity: 2, maxWaitingParents: 1 }));
      core.handle(start(), received(1, 7, { data: request({ id: 'p1' }) }), received(1, 8, { data: request({ id: 'p2' }) }));
      core.handle(childStarted(7), childStarted(8), childStarted(8));
      expect([core.count('blocked'), core.count('running')]).toEqual([1, 1]);
      expect(ofType(core.handle(childEnded(8)), 'resume')).toEqual([]);
      expect(ofType(core.handle(childEnded(8)), 'resume')).toEqual([expect.objectContaining({ ref: 8 })]);
      expect(ofType(core.handle(childEnded(7)), 'resume')).toEqual([expect.objectContaining({ ref: 7 })]);
    });

    it('aborts a waiting parent that is cancelled', () => {
      const core = new WorkerState(config());
      core.handle(start(), received(1, 7), childStarted(7));
      const out = core.handle({ type: 'cancel-requested', stimulusId: sid(), at: 40, invocationId: 'inv-1' });
      expect(types(out)).toEqual(expect.arrayContaining(['abort', 'store-outcome']));
      expect(ofType(core.handle(childEnded(7)), 'resume')).toEqual([]);
    });
  });

  describe('keyed work (key shards)', () => {
    const owned = (shards: number[], at = 5): Stimulus => ({ type: 'shards-owned', stimulusId: sid(), at, shards });
    const shardPulls = (out: Instruction[]): Array<[number, number]> => ofType(out, 'pull-shard').map((p) => [p.pullId, p.shard]);

    it('keeps one pull open per owned shard, for one message and without reserving a slot', () => {
      // The worker hears it owns shards 2 and 5: both are pulled at once, and its slots stay free for task pulls.
      const core = new WorkerState(config({ capacity: 2, tasks: { echo: {} } }));
      core.handle(start());
      const free = core.freeSlots;
      const out = core.handle(owned([5, 2]));
      expect(ofType(out, 'pull-shard')).toEqual([
        expect.objectContaining({ pullId: 2, shard: 2, expiresMs: 2000 }),
        expect.objectContaining({ pullId: 3, shard: 5, expiresMs: 2000 }),
      ]);
      expect([core.shards, core.freeSlots, core.outstandingPulls]).toEqual([[2, 5], free, 3]);
      // Nothing new while both are open; an expired one is renewed at once.
      expect(shardPulls(core.handle(tick(100)))).toEqual([]);
      expect(shardPulls(core.handle(ended(3)))).toEqual([[4, 5]]);
    });

    it('runs a keyed message and keeps its shard pulled meanwhile, so the next one comes as soon as it is acked', () => {
      // Shard 3 delivers inv-1 (its one-message pull completes): a new pull waits at the server behind it.
      const core = new WorkerState(config({ capacity: 2, tasks: { echo: {} } }));
      core.handle(start(), owned([3]));
      const got = core.handle(received(2, 7));
      expect(types(got).slice(0, 2)).toEqual(['publish-event', 'execute']);
      // The handler learns its shard (a child call keyed into it could never start: the dispatcher refuses it).
      expect(ofType(got, 'execute')[0]).toMatchObject({ ref: 7, shard: 3 });
      expect(shardPulls(core.handle(ended(2)))).toEqual([[3, 3]]);
      core.handle(finished(7));
      expect(types(core.handle(stored(7)))).toEqual(['reply', 'ack']);
      expect(types(core.handle(received(3, 8, { data: request({ id: 'inv-2' }) }))).slice(0, 2)).toEqual(['publish-event', 'execute']);
    });

    it('queues a keyed message that arrives with every slot busy, and starts it first when one frees', () => {
      // One slot, running unkeyed echo; keyed inv-k arrives: it waits without a slot, and no task pull asks for one.
      const core = new WorkerState(config({ capacity: 1, tasks: { echo: {} } }));
      core.handle(start(), received(1, 7), ended(1), owned([0]));
      expect(core.freeSlots).toBe(0);
      const keyed = core.handle(received(2, 8, { data: request({ id: 'inv-k' }) }));
      expect(types(keyed)).toEqual([]);
      expect([core.count('queued'), core.busy, core.freeSlots]).toEqual([1, 1, -1]);
      core.handle(finished(7));
      const next = core.handle(stored(7));
      expect(ofType(next, 'execute')).toEqual([expect.objectContaining({ ref: 8, invocationId: 'inv-k' })]);
      expect(ofType(next, 'pull')).toEqual([]);
    });

    it('retries a keyed failure in place: nak with the backoff, never ack, so the key\'s next waits for it', () => {
      const core = new WorkerState(config({ tasks: { echo: { retry: { maxAttempts: 3, backoffMs: 200 } } } }));
      core.handle(start(), owned([1]), received(2, 7));
      const out = core.handle(failed(7, FailureCode.INTERNAL));
      expect(ofType(out, 'nak')).toEqual([expect.objectContaining({ ref: 7 })]);
      expect(ofType(out, 'nak')[0].delayMs).toBeGreaterThan(0);
      expect(ofType(out, 'ack')).toEqual([]);
    });

    it('stops renewing the pulls of a shard it no longer owns, and runs what an old pull still delivers', () => {
      // A worker joined and won shard 4: the open pull is left to end; a message it brings still runs here.
      const core = new WorkerState(config({ tasks: { echo: {} } }));
      core.handle(start(), owned([4, 6]));
      expect(shardPulls(core.handle(owned([6])))).toEqual([]);
      expect(types(core.handle(received(2, 7))).slice(0, 2)).toEqual(['publish-event', 'execute']);
      expect(shardPulls(core.handle(ended(2)))).toEqual([]);
      expect(core.shards).toEqual([6]);
      // Owned again: pulled again.
      expect(shardPulls(core.handle(owned([4, 6])))).toEqual([[4, 4]]);
    });

    it('parks keyed work of a task it does not host: in place, kept alive, never failed, until its shard moves', () => {
      // A pool that is not uniform: shard 2's owner lacks `other`. Failing it would let the key's next one run first.
      const core = new WorkerState(config({ tasks: { echo: {} } }));
      core.handle(start(), owned([2]));
      const got = core.handle(received(2, 7, { data: request({ task: 'other' }) }));
      expect(types(got)).not.toContain('dead-letter');
      expect(types(got)).not.toContain('term');
      expect(types(got)).not.toContain('execute');
      expect(core.count('parked')).toBe(1);
      expect(types(core.handle(tick(400)))).toEqual(['in-progress']);
      // The shard moves to another worker: handed back at once (redelivered to it before the shard's next).
      const moved = core.handle(owned([]));
      expect(ofType(moved, 'nak')).toEqual([expect.objectContaining({ ref: 7, delayMs: 0 })]);
      expect(core.inflight).toBe(0);
    });

    it('hands back at once keyed work of a task it does not host that an old pull of a moved shard delivers', () => {
      const core = new WorkerState(config({ tasks: { echo: {} } }));
      core.handle(start(), owned([2]), owned([]));
      const got = core.handle(received(2, 7, { data: request({ task: 'other' }) }));
      expect(types(got)).toEqual(['nak']);
      expect(core.inflight).toBe(0);
    });

    it('ends parked work at its deadline with TIMEOUT, or when cancelled, and only then lets the shard go on', () => {
      const core = new WorkerState(config({ tasks: { echo: {} } }));
      core.handle(start(), owned([2]));
      core.handle(received(2, 7, { data: request({ id: 'inv-late', task: 'other', deadline: WALL + 1000 }) }));
      const late = core.handle(tick(1010));
      expect(ofType(late, 'store-outcome')[0].response).toMatchObject({ state: 'FAILURE', data: { failure: { code: 'TIMEOUT' } } });
      expect(ofType(core.handle(stored(7)), 'ack')).toEqual([expect.objectContaining({ ref: 7 })]);
      core.handle(received(2, 8, { data: request({ id: 'inv-c', task: 'other' }) }));
      const cancelled = core.handle({ type: 'cancel-requested', stimulusId: sid(), at: 1100, invocationId: 'inv-c' });
      expect(ofType(cancelled, 'store-outcome')[0].response).toMatchObject({ state: 'FAILURE', data: { failure: { code: 'CANCELLED' } } });
    });

    it('drains: no shard pulls, deliveries handed back, parked work released, drained once shard pulls end', () => {
      const core = new WorkerState(config({ tasks: { echo: {} } }));
      core.handle(start(), owned([2]));
      core.handle(received(2, 7, { data: request({ task: 'other' }) }));
      const drain = core.handle({ type: 'drain-requested', stimulusId: sid(), at: 15 });
      expect(ofType(drain, 'nak')).toEqual([expect.objectContaining({ ref: 7, delayMs: 0 })]);
      expect(ofType(drain, 'pull-shard')).toEqual([]);
      // The shard pull is still open at the server: what it delivers goes back, and it holds `drained` back.
      expect(types(core.handle(received(2, 8)))).toEqual(['nak']);
      expect(types(core.handle(ended(1)))).toEqual([]);
      expect(types(core.handle(ended(2)))).toEqual(['drained']);
      expect(types(core.handle(owned([1, 2])))).toEqual([]);
    });
  });

  // Random sequences of keyed work while shards change hands (no drain, so parked work lives until its shard moves).
  it('keeps at most one pull open per shard and settles every keyed message exactly once, parked ones too (property)', () => {
    type Op = { kind: 'receive'; pick: number; task: 'echo' | 'other'; late: boolean } | { kind: 'finish' | 'store' | 'end'; pick: number }
      | { kind: 'tick'; dt: number } | { kind: 'own'; shards: number[] };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('receive' as const), pick: fc.nat(), task: fc.constantFrom('echo' as const, 'other' as const), late: fc.boolean() }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constantFrom('finish' as const, 'store' as const, 'end' as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), dt: fc.integer({ min: 0, max: 2000 }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('own' as const), shards: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }) }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { minLength: 20, maxLength: 150 }), (capacity, ops) => {
        const core = new WorkerState(config({ capacity, tasks: { echo: {} } }));
        let at = 0;
        let ref = 0;
        const pulls = new Map<number, { left: number; shard?: number }>();
        const held = new Set<number>();
        const settled = new Map<number, number>();
        const exec = new Set<number>();
        const storing = new Set<number>();
        const run = (...stimuli: Stimulus[]): void => {
          const out = core.handle(...stimuli);
          for (const i of out) {
            if (i.type === 'pull') pulls.set(i.pullId, { left: i.batch });
            if (i.type === 'pull-shard') {
              expect([...pulls.values()].filter((p) => p.shard === i.shard)).toEqual([]);
              pulls.set(i.pullId, { left: 1, shard: i.shard });
            }
            if (i.type === 'execute') exec.add(i.ref);
            if (i.type === 'store-outcome') storing.add(i.ref);
            if (i.type === 'ack' || i.type === 'nak' || i.type === 'term') {
              settled.set(i.ref, (settled.get(i.ref) ?? 0) + 1);
              held.delete(i.ref);
              exec.delete(i.ref);
              storing.delete(i.ref);
            }
          }
          expect(core.count('running')).toBeLessThanOrEqual(capacity);
          // The per-phase counts are kept as phases change: they always add up to what is held.
          const phases = (['claiming', 'queued', 'running', 'blocked', 'storing', 'parked'] as const).map((p) => core.count(p));
          expect([phases.reduce((a, b) => a + b, 0), core.busy]).toEqual([core.inflight, core.count('running') + core.count('storing')]);
          expect(Math.min(...phases)).toBeGreaterThanOrEqual(0);
          expect(out.filter((i) => i.type === 'log' && i.message.startsWith('worker core error'))).toEqual([]);
        };
        const nth = <T>(all: T[], pick: number): T | undefined => (all.length === 0 ? undefined : all[pick % all.length]);
        run(start(at));
        for (const o of ops) {
          at += 1;
          if (o.kind === 'receive') {
            const pullId = nth([...pulls].filter(([, p]) => p.left > 0).map(([id]) => id), o.pick);
            if (pullId === undefined) continue;
            pulls.get(pullId)!.left -= 1;
            ref += 1;
            held.add(ref);
            const data = request({ id: `inv-${ref}`, task: o.task, deadline: o.late ? WALL - 1 : WALL + 30_000 });
            run({ type: 'work-received', stimulusId: sid(), at, pullId, ref, data, deliveryCount: 1, wallNow: WALL });
          } else if (o.kind === 'end') {
            const pullId = nth([...pulls.keys()], o.pick);
            if (pullId === undefined) continue;
            pulls.delete(pullId);
            run({ type: 'pull-ended', stimulusId: sid(), at, pullId, reason: '408' });
          } else if (o.kind === 'finish') {
            const r = nth([...exec], o.pick);
            if (r !== undefined) run(finished(r, null, at));
          } else if (o.kind === 'store') {
            const r = nth([...storing], o.pick);
            if (r !== undefined) run(stored(r));
          } else if (o.kind === 'tick') {
            at += o.dt;
            run(tick(at));
          } else if (o.kind === 'own') {
            run({ type: 'shards-owned', stimulusId: sid(), at, shards: o.shards });
          }
        }
        run({ type: 'shards-owned', stimulusId: sid(), at, shards: [] });
        for (let round = 0; round < 20; round++) {
          for (const r of [...exec]) run(finished(r, null, at));
          for (const r of [...storing]) run(stored(r));
          at += 100;
          run(tick(at));
        }
        for (const [r, n] of settled) expect([r, n]).toEqual([r, 1]);
        expect(held.size).toBe(0);
        expect(core.inflight).toBe(0);
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  // Random stimulus sequences: the invariants hold whatever the order of events.
  it('never holds more than its capacity, never throws, and settles every valid message exactly once (property)', () => {
    type Op = { kind: 'receive'; pick: number; valid: boolean; task: 'echo' | 'slow' | 'other' | 'lock'; inv: number; late: boolean }
      | { kind: 'finish' | 'store' | 'storeFail' | 'progress' | 'cancel' | 'claim' | 'childStart' | 'childEnd'; pick: number }
      | { kind: 'end'; pick: number } | { kind: 'tick'; dt: number } | { kind: 'drain' } | { kind: 'deadline' } | { kind: 'own'; shards: number[] };
    const op: fc.Arbitrary<Op> = fc.oneof(
      // A small id space: the same invocation can be delivered again while an earlier attempt is still here;
      // `late` deliveries are past their deadline. Weighted so that much work arrives and much happens to it.
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('receive' as const), pick: fc.nat(), valid: fc.boolean(), task: fc.constantFrom('echo' as const, 'slow' as const, 'other' as const, 'lock' as const),
          inv: fc.integer({ min: 0, max: 5 }), late: fc.boolean(),
        }),
      },
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constantFrom('finish' as const, 'store' as const, 'storeFail' as const, 'progress' as const, 'cancel' as const, 'claim' as const, 'childStart' as const, 'childEnd' as const),
          pick: fc.nat(),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('end' as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), dt: fc.integer({ min: 0, max: 2000 }) }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'drain' as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'deadline' as const }) },
      // Key shards change hands; their pulls deliver like any other (`other`, not hosted, is parked from them).
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('own' as const), shards: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }) }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { minLength: 20, maxLength: 150 }), (capacity, ops) => {
        // `lock` runs one at a time (running concurrency); the harness is an honest claims store.
        const tasks = { echo: {}, slow: { timeoutMs: 1000 }, lock: { concurrency: TaskConcurrency.create({ running: 'task' }) } };
        const core = new WorkerState(config({ capacity, tasks, maxWaitingParents: 1 }));
        let at = 0;
        const claims = new Map<number, { key: string; invocationId: string }>();
        let holder: string | undefined;
        const lockRefs = new Set<number>();
        const children = new Map<number, number>();
        const invocationOf = new Map<number, string>();
        let ref = 0;
        const pulls = new Map<number, number>(); // pullId -> undelivered
        const held = new Set<number>();
        const settled = new Map<number, number>();
        const exec = new Set<number>();
        const storing = new Set<number>();
        const run = (...stimuli: Stimulus[]): void => {
          const out = core.handle(...stimuli);
          const settledNow: number[] = [];
          for (const i of out) {
            if (i.type === 'pull') pulls.set(i.pullId, i.batch);
            if (i.type === 'pull-shard') pulls.set(i.pullId, 1);
            if (i.type === 'claim') claims.set(i.ref, { key: i.key, invocationId: i.invocationId });
            if (i.type === 'release-claim' && holder === i.invocationId) holder = undefined;
            if (i.type === 'execute') {
              exec.add(i.ref);
              if (i.task === 'lock') lockRefs.add(i.ref);
            }
            if (i.type === 'store-outcome') storing.add(i.ref);
            if (i.type === 'ack' || i.type === 'nak' || i.type === 'term') {
              settled.set(i.ref, (settled.get(i.ref) ?? 0) + 1);
              settledNow.push(i.ref);
              held.delete(i.ref);
              exec.delete(i.ref);
              storing.delete(i.ref);
              lockRefs.delete(i.ref);
              claims.delete(i.ref);
              children.delete(i.ref);
            }
          }
          // A settled message gives up its claim (unless another delivery of the same invocation is here).
          for (const r of settledNow) {
            const inv = invocationOf.get(r);
            if (inv !== undefined && holder === inv) expect([...held].some((x) => invocationOf.get(x) === inv)).toBe(true);
          }
          expect(core.count('running')).toBeLessThanOrEqual(capacity);
          expect(core.count('blocked')).toBeLessThanOrEqual(1);
          const phases = (['claiming', 'queued', 'running', 'blocked', 'storing', 'parked'] as const).map((p) => core.count(p));
          expect([phases.reduce((a, b) => a + b, 0), core.busy]).toEqual([core.inflight, core.count('running') + core.count('storing')]);
          // Running concurrency: never two `lock` handlers at once.
          expect(lockRefs.size).toBeLessThanOrEqual(1);
          expect(out.filter((i) => i.type === 'log' && i.message.startsWith('worker core error'))).toEqual([]);
        };
        const nth = <T>(set: Iterable<T>, pick: number): T | undefined => {
          const all = [...set];
          return all.length === 0 ? undefined : all[pick % all.length];
        };
        run(start(at));
        for (const o of ops) {
          at += 1;
          if (o.kind === 'receive') {
            const pullId = nth([...pulls].filter(([, n]) => n > 0).map(([id]) => id), o.pick);
            if (pullId === undefined) continue;
            pulls.set(pullId, pulls.get(pullId)! - 1);
            ref += 1;
            held.add(ref);
            if (o.valid) invocationOf.set(ref, `inv-${o.inv}`);
            const data = o.valid ? request({ id: `inv-${o.inv}`, task: o.task, deadline: o.late ? WALL - 1 : WALL + 30_000 }) : new TextEncoder().encode('nope');
            run({ type: 'work-received', stimulusId: sid(), at, pullId, ref, data, deliveryCount: 1, wallNow: WALL });
          } else if (o.kind === 'end') {
            const pullId = nth(pulls.keys(), o.pick);
            if (pullId === undefined) continue;
            pulls.delete(pullId);
            run({ type: 'pull-ended', stimulusId: sid(), at, pullId, reason: '408' });
          } else if (o.kind === 'finish') {
            const r = nth(exec, o.pick);
            if (r !== undefined) run(finished(r, null, at));
          } else if (o.kind === 'store' || o.kind === 'storeFail') {
            const r = nth(storing, o.pick);
            if (r !== undefined) run(o.kind === 'store' ? stored(r) : storeFailed(r));
          } else if (o.kind === 'progress') {
            const r = nth(exec, o.pick);
            if (r !== undefined) run({ type: 'task-progress', stimulusId: sid(), at, ref: r, details: { p: 1 } });
          } else if (o.kind === 'claim') {
            const r = nth(claims.keys(), o.pick);
            if (r === undefined) continue;
            const c = claims.get(r)!;
            claims.delete(r);
            const claimed = holder === undefined || holder === c.invocationId;
            if (claimed) holder = c.invocationId;
            run({ type: 'claim-result', stimulusId: sid(), at, ref: r, key: c.key, invocationId: c.invocationId, claimed });
          } else if (o.kind === 'childStart') {
            const r = nth(exec, o.pick);
            if (r === undefined) continue;
            children.set(r, (children.get(r) ?? 0) + 1);
            run({ type: 'child-call-started', stimulusId: sid(), at, ref: r, task: 'echo' });
          } else if (o.kind === 'childEnd') {
            const r = nth([...children].filter(([, n]) => n > 0).map(([k]) => k), o.pick);
            if (r === undefined) continue;
            children.set(r, children.get(r)! - 1);
            run({ type: 'child-call-ended', stimulusId: sid(), at, ref: r, task: 'echo' });
          } else if (o.kind === 'cancel') {
            run({ type: 'cancel-requested', stimulusId: sid(), at, invocationId: `inv-${o.pick % 6}` });
          } else if (o.kind === 'tick') {
            at += o.dt;
            run(tick(at));
          } else if (o.kind === 'own') {
            run({ type: 'shards-owned', stimulusId: sid(), at, shards: o.shards });
          } else if (o.kind === 'drain') {
            run({ type: 'drain-requested', stimulusId: sid(), at });
          } else {
            run({ type: 'drain-deadline-passed', stimulusId: sid(), at });
          }
        }
        // Parked work goes to the shards' next owners.
        run({ type: 'shards-owned', stimulusId: sid(), at, shards: [] });
        // Let everything finish: claims are answered, children return, handlers return, stores succeed.
        // Well within the requests' deadline: nothing may end by timing out while it waits for a claim.
        for (let round = 0; round < 100; round++) {
          for (const [r, c] of [...claims]) {
            claims.delete(r);
            const claimed = holder === undefined || holder === c.invocationId;
            if (claimed) holder = c.invocationId;
            run({ type: 'claim-result', stimulusId: sid(), at, ref: r, key: c.key, invocationId: c.invocationId, claimed });
          }
          for (const [r, n] of [...children]) {
            for (let k = 0; k < n; k++) run({ type: 'child-call-ended', stimulusId: sid(), at, ref: r, task: 'echo' });
            children.delete(r);
          }
          for (const r of [...exec]) run(finished(r, null, at));
          for (const r of [...storing]) run(stored(r));
          at += 100;
          run(tick(at));
        }
        for (const [r, n] of settled) expect([r, n]).toEqual([r, 1]);
        expect(held.size).toBe(0);
        expect(core.inflight).toBe(0);
      }),
      { seed: 42, numRuns: 400 },
    );
  });
});
