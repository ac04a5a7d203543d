import { FailureCode, Failure, RequestMessage } from '#protocol';
import type { Instruction } from './instructions.js';
import type { Stimulus } from './stimuli.js';
import { WorkerState, type WorkerCoreConfig } from './worker-state.js';

// Direct requests: sent by a router straight to this worker's topic, answered on their reply subject, never
// stored, acked or retried (the taskflow worker-based protocol).
let seq = 0;
const sid = (): string => `d${++seq}`;
const WALL = Date.parse('2026-12-03T00:00:00Z');
const REPLY = 'mesh.reply.r1.inv-1';

const config = (over: Partial<WorkerCoreConfig> = {}): WorkerCoreConfig => ({
  workerId: 'w1', capacity: 2, tasks: { echo: {}, slow: { timeoutMs: 1000 }, flaky: { retry: { maxAttempts: 3, backoffMs: 100 } } },
  inProgressEveryMs: 300, pullExpiresMs: 2000, ...over,
});

const request = (over: Partial<{ id: string; task: string; key: string; deadline: number }> = {}): Uint8Array =>
  new TextEncoder().encode(JSON.stringify(RequestMessage.create({
    id: over.id ?? 'inv-1', task: over.task ?? 'echo', args: { n: 1 }, deadline: over.deadline ?? WALL + 30_000,
    createdAt: new Date(WALL).toISOString(), ...(over.key === undefined ? {} : { key: over.key }),
  })));
const direct = (ref: number, over: Partial<Extract<Stimulus, { type: 'direct-received' }>> = {}): Stimulus => ({
  type: 'direct-received', stimulusId: sid(), at: 10, ref, data: request({ id: `inv-${ref}` }), replyTo: `mesh.reply.r1.inv-${ref}`, attempt: 1, wallNow: WALL, ...over,
});
const finished = (ref: number, at = 20): Stimulus => ({ type: 'task-finished', stimulusId: sid(), at, ref, outcome: { ok: true, result: { ok: ref } } });
const failedRetryably = (ref: number): Stimulus => ({
  type: 'task-finished', stimulusId: sid(), at: 20, ref, outcome: { ok: false, failure: Failure.create(FailureCode.TASK_FAILED, 'flaky', { retryable: true }) }, jitter: 0.5,
});

const ofType = <T extends Instruction['type']>(out: Instruction[], type: T): Extract<Instruction, { type: T }>[] =>
  out.filter((i): i is Extract<Instruction, { type: T }> => i.type === type);
const types = (out: Instruction[]): string[] => out.map((i) => i.type).filter((t) => t !== 'log' && t !== 'schedule-tick');
const replies = (out: Instruction[]): Array<{ to: string; state: string; code?: string; attempt?: number }> =>
  ofType(out, 'reply').map((r) => ({ to: r.replyTo, state: r.response.state, code: r.response.failure?.code, attempt: r.response.attempt }));

describe(`${WorkerState.name} (direct requests)`, () => {
  it('reports pickup (RUNNING) to the router before it executes, then the outcome; nothing is stored or acked', () => {
    const core = new WorkerState(config());
    const out = core.handle(direct(1, { attempt: 2 }));
    expect(types(out).slice(0, 2)).toEqual(['reply', 'execute']);
    expect(replies(out)).toEqual([{ to: 'mesh.reply.r1.inv-1', state: 'RUNNING', attempt: 2 }]);
    expect(ofType(out, 'execute')[0]).toMatchObject({ invocationId: 'inv-1', attempt: 2 });
    const done = core.handle(finished(1));
    expect(replies(done)).toEqual([{ to: 'mesh.reply.r1.inv-1', state: 'SUCCESS', attempt: 2 }]);
    for (const t of ['store-outcome', 'ack', 'nak', 'term', 'publish-event', 'dead-letter', 'in-progress']) expect(types([...out, ...done])).not.toContain(t);
    expect(core.inflight).toBe(0);
  });

  it('sends no in-progress acks and sets no timer for a long direct run (there is no ack wait)', () => {
    const core = new WorkerState(config());
    const out = core.handle(direct(1), { type: 'tick', stimulusId: sid(), at: 10_000 });
    expect(types(out)).not.toContain('in-progress');
    expect(ofType(out, 'schedule-tick').every((t) => t.at === null)).toBe(true);
  });

  it('enforces the task time limit on direct work too', () => {
    const core = new WorkerState(config());
    core.handle(direct(1, { data: request({ id: 'inv-1', task: 'slow' }) }));
    const out = core.handle({ type: 'tick', stimulusId: sid(), at: 1010 });
    expect(types(out).slice(0, 2)).toEqual(['abort', 'reply']);
    expect(replies(out)[0]).toMatchObject({ state: 'FAILURE', code: 'TIMEOUT' });
  });

  it('refuses at once what it will not start: past the deadline, unknown task, invalid body, cancelled', () => {
    const core = new WorkerState(config());
    expect(replies(core.handle(direct(1, { data: request({ id: 'inv-1', deadline: WALL - 1 }) })))).toEqual([expect.objectContaining({ state: 'FAILURE', code: 'TIMEOUT' })]);
    expect(replies(core.handle(direct(2, { data: request({ id: 'inv-2', task: 'nope' }) })))).toEqual([expect.objectContaining({ code: 'UNKNOWN_TASK' })]);
    const bad = core.handle(direct(3, { data: new TextEncoder().encode('{"v":1}') }));
    expect(replies(bad)).toEqual([expect.objectContaining({ code: 'BAD_REQUEST' })]);
    expect(types(bad)).toEqual(['count-invalid', 'reply']);
    core.handle({ type: 'cancel-requested', stimulusId: sid(), at: 10, invocationId: 'inv-4' });
    expect(replies(core.handle(direct(4, { data: request({ id: 'inv-4' }) })))).toEqual([expect.objectContaining({ code: 'CANCELLED' })]);
    expect(core.inflight).toBe(0);
  });

  it('never starts queued direct work after its deadline (a request that waited for a slot too long)', () => {
    const core = new WorkerState(config({ capacity: 1 }));
    core.handle(direct(1), direct(2, { data: request({ id: 'inv-2', deadline: WALL + 100 }) }));
    const out = core.handle({ type: 'tick', stimulusId: sid(), at: 10 + 100 });
    expect(replies(out)).toEqual([{ to: 'mesh.reply.r1.inv-2', state: 'FAILURE', code: 'TIMEOUT', attempt: 1 }]);
    expect(types(core.handle(finished(1)))).not.toContain('execute');
  });

  it('bounds the direct requests waiting for a slot: past the bound the caller gets OVERLOADED, never silence', () => {
    const core = new WorkerState(config({ capacity: 1, maxDirectQueued: 2 }));
    core.handle(direct(1), direct(2), direct(3));
    expect(core.inflight).toBe(3);
    const out = core.handle(direct(4));
    expect(replies(out)).toEqual([expect.objectContaining({ to: 'mesh.reply.r1.inv-4', state: 'FAILURE', code: 'OVERLOADED' })]);
    expect(core.inflight).toBe(3);
    // A slot frees: the oldest waiting one starts, and there is room again.
    expect(ofType(core.handle(finished(1)), 'execute').map((e) => e.invocationId)).toEqual(['inv-2']);
    expect(replies(core.handle(direct(5)))).toEqual([]);
  });

  it('runs direct requests of one key one at a time, in arrival order; other keys go on meanwhile', () => {
    const core = new WorkerState(config({ capacity: 4 }));
    const keyed = (ref: number, key: string): Stimulus => direct(ref, { data: request({ id: `inv-${ref}`, key }) });
    const out = core.handle(keyed(1, 'a'), keyed(2, 'a'), keyed(3, 'b'), keyed(4, 'a'));
    expect(ofType(out, 'execute').map((e) => e.invocationId)).toEqual(['inv-1', 'inv-3']);
    expect(ofType(core.handle(finished(1)), 'execute').map((e) => e.invocationId)).toEqual(['inv-2']);
    expect(ofType(core.handle(finished(3)), 'execute')).toEqual([]);
    expect(ofType(core.handle(finished(2)), 'execute').map((e) => e.invocationId)).toEqual(['inv-4']);
  });

  it('does not retry a direct call: a retryable failure goes to the caller as it is', () => {
    const core = new WorkerState(config());
    core.handle(direct(1, { data: request({ id: 'inv-1', task: 'flaky' }) }));
    const out = core.handle(failedRetryably(1));
    expect(replies(out)).toEqual([{ to: REPLY, state: 'FAILURE', code: 'TASK_FAILED', attempt: 1 }]);
    expect(ofType(out, 'reply')[0].response.failure?.retryable).toBe(true);
    expect(types(out)).not.toContain('nak');
  });

  it('publishes no progress for direct work (it would land in the events stream)', () => {
    const core = new WorkerState(config());
    core.handle(direct(1));
    expect(core.handle({ type: 'task-progress', stimulusId: sid(), at: 15, ref: 1, details: { step: 1 } })).toEqual([]);
  });

  it('on drain, refuses what has not started (the router places it elsewhere) and reports a started run lost at the drain deadline', () => {
    const core = new WorkerState(config({ capacity: 1 }));
    core.handle(direct(1), direct(2));
    const drain = core.handle({ type: 'drain-requested', stimulusId: sid(), at: 20 });
    expect(replies(drain)).toEqual([expect.objectContaining({ to: 'mesh.reply.r1.inv-2', code: 'OVERLOADED' })]);
    expect(replies(core.handle(direct(3)))).toEqual([expect.objectContaining({ code: 'OVERLOADED' })]);
    const deadline = core.handle({ type: 'drain-deadline-passed', stimulusId: sid(), at: 30 });
    expect(types(deadline)).toEqual(['abort', 'reply', 'drained']);
    expect(replies(deadline)).toEqual([expect.objectContaining({ to: REPLY, code: 'WORKER_LOST' })]);
  });

  it('answers nothing (but holds nothing) for a request without a reply subject', () => {
    const core = new WorkerState(config());
    const out = core.handle(direct(1, { replyTo: undefined, data: request({ id: 'inv-1', deadline: WALL - 1 }) }));
    expect(ofType(out, 'reply')).toEqual([]);
    expect(core.inflight).toBe(0);
  });

  it('shares the slots with pulled work: queued direct requests take slots before new pulls', () => {
    const core = new WorkerState(config({ capacity: 2 }));
    core.handle(direct(1), direct(2), direct(3));
    expect(core.freeSlots).toBeLessThanOrEqual(0);
    expect(ofType(core.handle({ type: 'start', stimulusId: sid(), at: 11 }), 'pull')).toEqual([]);
  });
});
