import { FailureCode, Failure, RequestMessage } from '@taskmesh/protocol';
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

  it('sends no in-progress acks and keeps no timer for a long direct run (there is no ack wait)', () => {
    const core = new WorkerState(config());
    // A durable message held first sets a timer; once it is settled only the direct run is left: the timer goes.
    core.handle({ type: 'start', stimulusId: sid(), at: 0 });
    core.handle({ type: 'work-received', stimulusId: sid(), at: 5, pullId: 1, ref: 50, data: request({ id: 'inv-50' }), deliveryCount: 1, wallNow: WALL });
    core.handle(direct(1));
    core.handle(finished(50), { type: 'outcome-stored', stimulusId: sid(), at: 25, ref: 50 });
    const out = core.handle({ type: 'tick', stimulusId: sid(), at: 10_000 });
    expect(types(out)).not.toContain('in-progress');
    expect(core.inflight).toBe(1);
    expect(ofType(out, 'schedule-tick').at(-1)?.at ?? null).toBeNull();
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

  it('never runs a request without a reply subject (nobody could learn its outcome): dropped and counted', () => {
    const core = new WorkerState(config());
    const out = core.handle(direct(1, { replyTo: undefined }));
    expect(types(out).filter((t) => t !== 'pull')).toEqual(['count-invalid']);
    expect(core.inflight).toBe(0);
  });

  it('does not start a queued request whose deadline passed when a slot frees before its timer fires', () => {
    // Under load the slot frees (task-finished at 200) before the tick for the deadline (110) is handled.
    const core = new WorkerState(config({ capacity: 1 }));
    core.handle(direct(1), direct(2, { data: request({ id: 'inv-2', deadline: WALL + 100 }) }));
    const out = core.handle(finished(1, 200));
    expect(ofType(out, 'execute')).toEqual([]);
    expect(replies(out)).toEqual([
      expect.objectContaining({ to: REPLY, state: 'SUCCESS' }),
      { to: 'mesh.reply.r1.inv-2', state: 'FAILURE', code: 'TIMEOUT', attempt: 1 },
    ]);
  });

  it('does not count direct requests held back by their key as taking a slot (durable work is still pulled)', () => {
    const core = new WorkerState(config({ capacity: 4 }));
    const keyed = (ref: number): Stimulus => direct(ref, { data: request({ id: `inv-${ref}`, key: 'hot' }) });
    const out = core.handle(keyed(1), keyed(2), keyed(3), keyed(4), keyed(5));
    // One runs, four wait for it; the three other slots are pulled for (durable work may use them).
    expect(core.busy).toBe(1);
    expect(ofType(out, 'pull').reduce((n, p) => n + p.batch, 0)).toBe(3);
    expect(core.reserved).toBe(3);
  });

  it('refuses on its bound only a request that would have to wait: with MESH_DIRECT_QUEUE 0 a free slot still runs it', () => {
    const core = new WorkerState(config({ capacity: 1, maxDirectQueued: 0 }));
    expect(types(core.handle(direct(1)))).toContain('execute');
    expect(replies(core.handle(direct(2)))).toEqual([expect.objectContaining({ code: 'OVERLOADED' })]);
  });

  it('shares the slots with pulled work: queued direct requests take slots before new pulls', () => {
    const core = new WorkerState(config({ capacity: 2 }));
    core.handle(direct(1), direct(2), direct(3));
    expect(core.freeSlots).toBeLessThanOrEqual(0);
    expect(ofType(core.handle({ type: 'start', stimulusId: sid(), at: 11 }), 'pull')).toEqual([]);
  });
});
