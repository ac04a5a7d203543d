import { jest } from '@jest/globals';
import { FailureCode, MeshError, ResponseMessage } from '@taskmesh/protocol';
import { DirectCaller, type DirectOutcome, type ReplyMsg } from './direct-caller.js';
import type { Placeable } from './placement.js';

// The DirectCaller shell with fake ports (no NATS): what the router's DirectService spec does not reach, the bounds
// and the ways a client's smart mode ends a call. The router's spec (apps/router/src/direct) covers the rest.
function setup(opts: { maxCalls?: number; workers?: string[] } = {}) {
  const sent: Array<{ topic: string; id: string; attempt: string | undefined; reply: string }> = [];
  const rejected: string[] = [];
  const live = new Set(opts.workers ?? ['w1', 'w2']);
  const caller = new DirectCaller({
    send: (topic, data, headers, reply) => void sent.push({ topic, id: (JSON.parse(data) as { id: string }).id, attempt: headers['Mesh-Attempt'], reply }),
    place: (_task, _key, exclude): Placeable | undefined => {
      const id = [...live].sort().find((w) => !exclude.has(w));
      return id === undefined ? undefined : { id, topic: `mesh.worker.${id}`, tasks: ['echo'], load: 0 };
    },
    noteSent: () => undefined,
    rejected: (id, _report, why) => void rejected.push(`${id}: ${why}`),
  }, { maxCalls: opts.maxCalls ?? 100 });
  const report = (id: string, response: ResponseMessage): boolean => caller.onReply(id, { data: new TextEncoder().encode(JSON.stringify(response)) } satisfies ReplyMsg);
  return { caller, sent, rejected, report };
}

const request = { args: { n: 1 }, timeoutMs: 1000 };
const codeOf = (outcome: DirectOutcome<ReplyMsg>): string | undefined => (outcome.kind === 'failure' ? outcome.failure.code : outcome.response.failure?.code);

describe(DirectCaller.name, () => {
  beforeEach(() => jest.useFakeTimers({ now: Date.parse('2026-12-03T00:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('resolves with the worker\'s parsed final RESPONSE and the message it came in', async () => {
    // A smart client calls echo; the worker reports its start, then its result, on the client's reply subject.
    const { caller, sent, report } = setup();
    const outcome = caller.call('echo', 'inv-1', request, 'mesh.reply.client-a.inv-1', true);
    expect(sent).toEqual([{ topic: 'mesh.worker.w1', id: 'inv-1', attempt: '1', reply: 'mesh.reply.client-a.inv-1' }]);
    report('inv-1', ResponseMessage.state('inv-1', 'RUNNING', { worker: 'w1', attempt: 1 }));
    report('inv-1', ResponseMessage.success('inv-1', { n: 1 }, { worker: 'w1', attempt: 1 }));
    const ended = await outcome;
    expect(ended.kind === 'reply' && ended.response).toMatchObject({ state: 'SUCCESS', result: { n: 1 }, worker: 'w1' });
    expect(caller.size).toBe(0);
  });

  it('answers OVERLOADED at once past its bound of waiting calls, and sends nothing for it', async () => {
    const { caller, sent } = setup({ maxCalls: 2 });
    void caller.call('echo', 'a', request, 'r.a', true);
    void caller.call('echo', 'b', request, 'r.b', true);
    expect(codeOf(await caller.call('echo', 'c', request, 'r.c', true))).toBe(FailureCode.OVERLOADED);
    expect(sent.map((s) => s.id)).toEqual(['a', 'b']);
    expect(caller.size).toBe(2);
  });

  it('refuses a second call with the id of one still waiting', async () => {
    const { caller } = setup();
    void caller.call('echo', 'a', request, 'r.a', true);
    expect(codeOf(await caller.call('echo', 'a', request, 'r.a', true))).toBe(FailureCode.BAD_REQUEST);
  });

  it('ends an abandoned call with the error given, and rejects the worker\'s late report of it', async () => {
    // The caller aborted its call while the worker ran it; the worker's result arrives afterwards.
    const { caller, rejected, report } = setup();
    const outcome = caller.call('echo', 'inv-1', request, 'r', true);
    report('inv-1', ResponseMessage.state('inv-1', 'RUNNING', { worker: 'w1', attempt: 1 }));
    caller.abandon('inv-1', new MeshError(FailureCode.CANCELLED, 'the caller gave up'));
    expect(codeOf(await outcome)).toBe(FailureCode.CANCELLED);
    expect(report('inv-1', ResponseMessage.success('inv-1', 1, { worker: 'w1', attempt: 1 }))).toBe(true);
    expect(rejected).toEqual(['inv-1: the call was already answered']);
  });

  it('answers every waiting call when its owner stops, and none of them later', async () => {
    const { caller } = setup();
    const outcomes = [caller.call('echo', 'a', request, 'r.a', true), caller.call('echo', 'b', request, 'r.b', false)];
    caller.abandonAll(new MeshError(FailureCode.OVERLOADED, 'the client is closing'));
    expect((await Promise.all(outcomes)).map(codeOf)).toEqual(['OVERLOADED', 'OVERLOADED']);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(caller.size).toBe(0);
  });

  it('leaves a message about no call of its own to its owner', () => {
    const { report } = setup();
    expect(report('inv-unknown', ResponseMessage.success('inv-unknown', 1, { worker: 'w1', attempt: 1 }))).toBe(false);
  });
});
