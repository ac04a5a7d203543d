import { CallRequest, parseCallBody } from './call-request.js';
import { decodeBody, encodeMessage } from './codec.js';
import { InvalidMessageError } from './errors.js';
import { isJsonObject, isJsonValue, jsonProblem } from './json.js';
import { MAX_JSON_DEPTH } from './limits.js';
import { NotifyMessage } from './notify.message.js';
import { RequestMessage } from './request.message.js';
import { ResponseMessage } from './response.message.js';
import { WorkerEventMessage } from './worker-event.message.js';

const parsers: Array<[string, (raw: unknown) => unknown]> = [
  [NotifyMessage.name, (raw) => NotifyMessage.parse(raw)],
  [RequestMessage.name, (raw) => RequestMessage.parse(raw)],
  [ResponseMessage.name, (raw) => ResponseMessage.parse(raw)],
  [WorkerEventMessage.name, (raw) => WorkerEventMessage.parse(raw)],
  [CallRequest.name, (raw) => CallRequest.parse(raw)],
  [parseCallBody.name, (raw) => parseCallBody(raw)],
];

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

const trap = (): never => {
  throw new RangeError('trap');
};

describe('hostile in-memory inputs', () => {
  const inputs: Array<[string, unknown]> = [
    ['a revoked Proxy', revoked()],
    ['a Proxy whose every trap throws', new Proxy({}, { get: trap, ownKeys: trap, getPrototypeOf: trap, has: trap, getOwnPropertyDescriptor: trap })],
    ['a Symbol', Symbol('x')],
    ['a function', () => 1],
    ['a BigInt', 10n],
    ['an ArrayBuffer', new ArrayBuffer(4)],
  ];

  describe.each(parsers)('%s', (_name, parse) => {
    it.each(inputs)('turns %s into InvalidMessageError', (_what, input) => {
      expect(() => parse(input)).toThrow(InvalidMessageError);
    });
  });
});

describe(decodeBody.name, () => {
  it('strips a UTF-8 byte order mark and reads the JSON', () => {
    expect(decodeBody(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), 'x')).toEqual({});
  });

  it('passes parsed values through untouched', () => {
    const value = { a: 1 };
    expect(decodeBody(value, 'x')).toBe(value);
  });

  it('round-trips with encodeMessage', () => {
    const message = ResponseMessage.waiting('a');
    expect(ResponseMessage.parse(encodeMessage(message))).toEqual(message);
    expect(new TextDecoder().decode(encodeMessage(message))).toBe('{"v":1,"type":"RESPONSE","id":"a","state":"WAITING"}');
  });
});

describe(jsonProblem.name, () => {
  it.each([
    [null, true],
    [[1, 'a', { b: [true] }], true],
    [Object.create(null) as object, true],
    [Number.NaN, false],
    [Number.POSITIVE_INFINITY, false],
    [undefined, false],
    [{ a: undefined }, false],
    [new Date(0), false],
    [[, 1], false], // eslint-disable-line no-sparse-arrays
    [new Map(), false],
  ])('isJsonValue(%p) is %p', (value, expected) => {
    expect(isJsonValue(value)).toBe(expected);
  });

  it('bounds the depth and finds cycles', () => {
    let deep: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH; i++) deep = [deep];
    expect(isJsonValue(deep)).toBe(true);
    expect(jsonProblem([deep])).toBe(`is nested deeper than ${MAX_JSON_DEPTH} levels`);
    const cycle: unknown[] = [];
    cycle.push(cycle);
    expect(isJsonValue(cycle)).toBe(false);
  });

  it('says where the problem is', () => {
    expect(jsonProblem({ a: [1, { b: () => 1 }] })).toBe('is not JSON at a[1].b (a function)');
    expect(isJsonObject([])).toBe(false);
    expect(isJsonObject({ a: 1 })).toBe(true);
  });
});
