import { CallRequest, nestReply, parseCallBody } from './call-request.js';
import { InvalidMessageError, ProtocolVersionError } from './errors.js';
import { Failure } from './failure.js';
import { DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS } from './limits.js';
import { ResponseMessage } from './response.message.js';

function problemsOf(raw: unknown): string[] {
  try {
    parseCallBody(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidMessageError);
    return (err as InvalidMessageError).problems;
  }
  throw new Error('expected parse to throw');
}

describe(CallRequest.name, () => {
  it('fills the defaults', () => {
    const request = CallRequest.parse('{}');
    expect(request).toEqual({ args: null, timeoutMs: DEFAULT_TIMEOUT_MS });
    // No delivery given: the task's declared delivery decides (durable unless it declares direct).
    expect(request.delivery).toBeUndefined();
    expect(request).toBeInstanceOf(CallRequest);
  });

  it('reads every field of the contract (docs/PROTOCOL.md 4.1, 4.2)', () => {
    const body = { args: [1, { a: 'b' }], id: 'order-981', key: 'customer-42', timeoutMs: 5000, delivery: 'direct' };
    expect(CallRequest.parse(Buffer.from(JSON.stringify(body)))).toEqual(body);
  });

  it('accepts v: 1 and refuses any other v', () => {
    expect(CallRequest.parse({ v: 1, args: 2 })).toEqual({ args: 2, timeoutMs: DEFAULT_TIMEOUT_MS });
    expect(() => CallRequest.parse({ v: 2 })).toThrow(ProtocolVersionError);
  });

  it.each([
    [{ bogus: 1 }, 'unknown field "bogus"'],
    [{ id: 'a.b' }, 'id: must match'],
    [{ id: 'x'.repeat(129) }, 'id: must match'],
    [{ id: 7 }, 'id: must be a string'],
    [{ key: '' }, 'key: must be 1 to 256 characters long'],
    [{ key: 'k'.repeat(257) }, 'key: must be 1 to 256 characters long'],
    [{ timeoutMs: 0 }, 'timeoutMs: must be an integer from 1 to 86400000'],
    [{ timeoutMs: MAX_TIMEOUT_MS + 1 }, 'timeoutMs: must be an integer from 1'],
    [{ timeoutMs: 1.5 }, 'timeoutMs: must be an integer'],
    [{ timeoutMs: '100' }, 'timeoutMs: must be an integer'],
    [{ delivery: 'fast' }, 'delivery: must be one of durable, direct'],
  ])('refuses %j: %s', (body, problem) => {
    const problems = problemsOf(body);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(problem);
  });

  it('names the unknown field in the error message', () => {
    expect(() => CallRequest.parse('{"args":1,"timeout":5}')).toThrow(/unknown field "timeout"/);
  });

  it('builds with create', () => {
    expect(CallRequest.create({ args: { a: 1 }, delivery: 'direct' })).toEqual({ args: { a: 1 }, timeoutMs: DEFAULT_TIMEOUT_MS, delivery: 'direct' });
  });
});

describe(parseCallBody.name, () => {
  it('reads the mesh body without a nest marker', () => {
    expect(parseCallBody('{"args":{"x":1}}')).toEqual({ request: { args: { x: 1 }, timeoutMs: DEFAULT_TIMEOUT_MS } });
  });

  it('reads NestJS ClientProxy envelopes: data becomes args', () => {
    const body = JSON.stringify({ pattern: 'mesh.call.echo', data: { x: 1 }, id: '5f0c9a1e-uuid' });
    const { request, nest } = parseCallBody(new TextEncoder().encode(body));
    expect(request).toEqual({ args: { x: 1 }, timeoutMs: DEFAULT_TIMEOUT_MS });
    expect(nest).toEqual({ id: '5f0c9a1e-uuid', pattern: 'mesh.call.echo' });
    expect(parseCallBody({ pattern: 'p', id: 'i' }).request.args).toBeNull();
    expect(parseCallBody({ pattern: 'p', id: 'i', data: 1, metadata: { trace: 'x' } }).nest?.id).toBe('i');
  });

  it('refuses a malformed Nest envelope, naming the fields', () => {
    expect(problemsOf({ pattern: 1, id: 'i', data: 1 })).toEqual(['pattern: must be a string (NestJS envelope)']);
    expect(problemsOf({ pattern: 'p', data: 1 })[0]).toMatch(/^id: /);
    expect(problemsOf({ pattern: 'p', id: 'i', args: 1 })).toEqual(['unknown field "args"']);
    expect(problemsOf({ pattern: 'p', id: 'i', data: { f: Number.POSITIVE_INFINITY } })[0]).toMatch(/^data: is not JSON/);
  });
});

describe(nestReply.name, () => {
  it('answers SUCCESS with the result, which ClientProxy emits', () => {
    expect(nestReply('n1', ResponseMessage.success('a', { y: 2 }))).toEqual({ id: 'n1', response: { y: 2 }, isDisposed: true });
    expect(nestReply('n1', ResponseMessage.success('a', undefined))).toEqual({ id: 'n1', response: null, isDisposed: true });
  });

  it('answers FAILURE with err, which ClientProxy raises', () => {
    const failure = Failure.create('VALIDATION_FAILED', 'args.x: must be a string', { details: { problems: ['args.x: must be a string'] } });
    expect(nestReply('n1', ResponseMessage.failure(undefined, failure))).toEqual({
      id: 'n1',
      err: { code: 'VALIDATION_FAILED', message: 'args.x: must be a string', retryable: false, details: { problems: ['args.x: must be a string'] } },
      isDisposed: true,
    });
  });

  it('answers any other state with the RESPONSE itself', () => {
    expect(nestReply('n1', ResponseMessage.waiting('a'))).toEqual({
      id: 'n1',
      response: { v: 1, type: 'RESPONSE', id: 'a', state: 'WAITING' },
      isDisposed: true,
    });
  });

  it('uses only the keys NestJS treats as its own envelope', () => {
    const ENVELOPE_KEYS = ['id', 'err', 'response', 'isDisposed', 'status'];
    for (const reply of [nestReply('n', ResponseMessage.success('a', 1)), nestReply('n', ResponseMessage.failure('a', Failure.create('TIMEOUT', 't')))]) {
      for (const key of Object.keys(reply)) expect(ENVELOPE_KEYS).toContain(key);
    }
  });
});
