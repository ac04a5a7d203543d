import { InvalidMessageError, ProtocolVersionError } from './errors.js';
import { RequestMessage } from './request.message.js';

const valid = {
  v: 1,
  type: 'REQUEST',
  id: 'order-981',
  task: 'echo',
  args: { x: [1, 'two', null] },
  key: 'customer-42',
  deadline: 1_714_564_800_000,
  createdAt: '2024-05-01T12:00:00.000Z',
  parentId: 'parent:1',
};

function problemsOf(raw: unknown): string[] {
  try {
    RequestMessage.parse(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidMessageError);
    return (err as InvalidMessageError).problems;
  }
  throw new Error('expected parse to throw');
}

describe(RequestMessage.name, () => {
  it('parses a full REQUEST', () => {
    const message = RequestMessage.parse(JSON.stringify(valid));
    expect(message).toBeInstanceOf(RequestMessage);
    expect(message).toEqual(expect.objectContaining(valid));
    expect(message.isExpired(valid.deadline)).toBe(false);
    expect(message.isExpired(valid.deadline + 1)).toBe(true);
  });

  it('reads absent args as null, and null optional fields as absent', () => {
    const { args: _a, ...rest } = valid;
    const message = RequestMessage.parse({ ...rest, key: null, parentId: null });
    expect(message.args).toBeNull();
    expect(message.key).toBeUndefined();
    expect(message.parentId).toBeUndefined();
    expect(JSON.parse(JSON.stringify(message))).not.toHaveProperty('key');
  });

  it('creates a REQUEST, making args JSON and defaulting createdAt', () => {
    const message = RequestMessage.create({ id: 'a', task: 'echo', args: { when: new Date(0), gone: undefined }, deadline: 10 });
    expect(message.args).toEqual({ when: '1970-01-01T00:00:00.000Z' });
    expect(message.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(RequestMessage.parse(new TextEncoder().encode(JSON.stringify(message)))).toEqual(message);
  });

  it('refuses args that cannot travel as JSON', () => {
    expect(() => RequestMessage.create({ id: 'a', task: 'echo', args: { n: 10n }, deadline: 10 })).toThrow(/args: cannot be sent as JSON/);
  });

  it('names every bad field', () => {
    const problems = problemsOf({ ...valid, id: 'a.b', task: 'no spaces', key: '', deadline: -1, createdAt: 5, parentId: '*', extra: true });
    expect(problems).toContain('unknown field "extra"');
    expect(problems.map((p) => p.split(':')[0]).filter((f) => !f.startsWith('unknown')).sort()).toEqual(
      ['createdAt', 'deadline', 'id', 'key', 'parentId', 'task'],
    );
  });

  it('refuses args that are not JSON when handed over in memory', () => {
    expect(problemsOf({ ...valid, args: { f: () => 1 } })[0]).toMatch(/^args: is not JSON at f/);
    expect(problemsOf({ ...valid, args: Number.NaN })[0]).toMatch(/^args: is not JSON/);
    const deep: unknown[] = [];
    let at = deep;
    for (let i = 0; i < 500; i++) at = (at[0] = []) as unknown[];
    expect(problemsOf({ ...valid, args: deep })[0]).toMatch(/^args: is nested deeper than/);
  });

  it('refuses deeply nested JSON text without overflowing the stack', () => {
    const text = JSON.stringify({ ...valid, args: null }).replace('"args":null', `"args":${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(problemsOf(text)[0]).toMatch(/^args: is nested deeper than/);
  });

  it('refuses a body over MAX_MESSAGE_BYTES', () => {
    const big = JSON.stringify({ ...valid, args: 'x'.repeat(1_100_000) });
    expect(problemsOf(big)[0]).toMatch(/bytes, more than the 1048576 allowed/);
    expect(problemsOf(Buffer.from(big))[0]).toMatch(/more than the 1048576 allowed/);
  });

  it('refuses another protocol version', () => {
    expect(() => RequestMessage.parse({ ...valid, v: 0 })).toThrow(ProtocolVersionError);
  });
});
