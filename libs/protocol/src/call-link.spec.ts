import { argsDigest, cycleIn } from './call-link.js';
import { CallRequest } from './call-request.js';
import { InvalidMessageError } from './errors.js';
import { MAX_CALL_DEPTH } from './limits.js';
import { RequestMessage } from './request.message.js';

const link = (id: string, task = 'chain', args: unknown = { depth: 1 }): { id: string; task: string; digest: string } => ({ id, task, digest: argsDigest(args) });
const problems = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidMessageError) return [...err.problems];
    throw err;
  }
  return [];
};

describe('argsDigest', () => {
  it('is the same for the same JSON whatever the key order, and differs for other values', () => {
    expect(argsDigest({ a: 1, b: { c: [1, 2], d: null } })).toBe(argsDigest({ b: { d: null, c: [1, 2] }, a: 1 }));
    expect(argsDigest({ a: 1 })).not.toBe(argsDigest({ a: 2 }));
    expect(argsDigest([1, 2])).not.toBe(argsDigest([2, 1]));
    expect(argsDigest(undefined)).toBe(argsDigest(null));
    expect(argsDigest('x')).toMatch(/^[0-9a-f]{24}$/);
  });
});

describe('cycleIn', () => {
  it('finds the ancestor with the same task and arguments, and nothing else', () => {
    const chain = [link('a', 'chain', { depth: 2 }), link('b', 'chain', { depth: 1 })];
    expect(cycleIn(chain, 'chain', argsDigest({ depth: 2 }))?.id).toBe('a');
    expect(cycleIn(chain, 'chain', argsDigest({ depth: 0 }))).toBeUndefined();
    expect(cycleIn(chain, 'other', argsDigest({ depth: 2 }))).toBeUndefined();
    expect(cycleIn(undefined, 'chain', argsDigest({ depth: 2 }))).toBeUndefined();
  });
});

describe('chain and dispatch fields', () => {
  it('are carried from the call body into the REQUEST', () => {
    const dispatch = { id: 'nightly', occurrence: '2026-11-23T00:00:00.000Z', until: '2026-11-23T00:00:00.500Z', dryRun: false };
    const call = CallRequest.parse({ args: { n: 1 }, chain: [link('inv-1')], dispatch });
    expect(call.chain).toEqual([link('inv-1')]);
    expect(call.dispatch).toEqual(dispatch);
    const request = RequestMessage.parse(JSON.stringify(RequestMessage.create({ id: 'c-1', task: 'echo', deadline: 1, chain: call.chain, dispatch: call.dispatch, parentId: 'inv-1' })));
    expect(request).toMatchObject({ chain: [link('inv-1')], dispatch, parentId: 'inv-1' });
    expect(JSON.parse(JSON.stringify(CallRequest.parse({ args: 1 })))).not.toHaveProperty('chain');
  });

  it('are validated, naming the bad field', () => {
    expect(problems(() => CallRequest.parse({ chain: [{ id: 'a b', task: 'chain', digest: 'xyz' }] }))).toEqual([
      'chain[0].id: must match /^[A-Za-z0-9_:-]{1,128}$/', 'chain[0].digest: must match /^[0-9a-f]{24}$/',
    ]);
    expect(problems(() => CallRequest.parse({ chain: [{ id: 'a', task: 'chain', digest: argsDigest(1), extra: 1 }] }))).toEqual(['unknown field "chain[0].extra"']);
    expect(problems(() => CallRequest.parse({ chain: 'a' }))).toEqual(['chain: must be an array of {id, task, digest}']);
    expect(problems(() => CallRequest.parse({ chain: Array.from({ length: MAX_CALL_DEPTH + 1 }, (_, i) => link(`i${i}`)) }))[0]).toMatch(/at most 32 deep/);
    expect(problems(() => CallRequest.parse({ dispatch: { id: 'd.1', occurrence: 'soon', dryRun: 'no' } }))).toEqual([
      'dispatch.id: must match /^[A-Za-z0-9_-]{1,64}$/', 'dispatch.occurrence: must be an ISO-8601 instant such as 2024-05-01T12:00:00.000Z', 'dispatch.dryRun: must be a boolean',
    ]);
    expect(problems(() => RequestMessage.parse({ v: 1, type: 'REQUEST', id: 'x', task: 't', args: null, deadline: 1, createdAt: '2026-11-23T00:00:00Z', chain: [{}] }))).toEqual([
      'chain[0].id: is required', 'chain[0].task: is required', 'chain[0].digest: is required',
    ]);
  });
});
