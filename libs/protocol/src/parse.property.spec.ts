import fc from 'fast-check';
import { CallRequest, parseCallBody } from './call-request.js';
import { InvalidMessageError } from './errors.js';
import { Failure, FAILURE_CODES } from './failure.js';
import { INVOCATION_ID_PATTERN, TASK_NAME_PATTERN, WORKER_ID_PATTERN } from './limits.js';
import { NotifyMessage } from './notify.message.js';
import { RequestMessage } from './request.message.js';
import { ResponseMessage } from './response.message.js';
import { TaskOffer } from './task-offer.message.js';
import { WorkerEventMessage } from './worker-event.message.js';

// Fixed seed: a failure reproduces on every machine; raise numRuns locally to explore further.
const RUNS = { seed: 42, numRuns: 500 } as const;

const parsers: Array<[string, (raw: unknown) => unknown, new (...args: never[]) => object]> = [
  [NotifyMessage.name, (raw) => NotifyMessage.parse(raw), NotifyMessage],
  [RequestMessage.name, (raw) => RequestMessage.parse(raw), RequestMessage],
  [ResponseMessage.name, (raw) => ResponseMessage.parse(raw), ResponseMessage],
  [WorkerEventMessage.name, (raw) => WorkerEventMessage.parse(raw), WorkerEventMessage],
  [CallRequest.name, (raw) => CallRequest.parse(raw), CallRequest],
  [parseCallBody.name, (raw) => parseCallBody(raw).request, CallRequest],
  [TaskOffer.name, (raw) => TaskOffer.parse(raw), TaskOffer],
];

/** Either a valid instance or an InvalidMessageError; any other outcome fails the property. */
function parsesOrRejects(parse: (raw: unknown) => unknown, ctor: new (...args: never[]) => object, raw: unknown): void {
  let result: unknown;
  try {
    result = parse(raw);
  } catch (err) {
    if (err instanceof InvalidMessageError) return;
    throw new Error(`parse threw ${String(err)} instead of InvalidMessageError`, { cause: err });
  }
  if (!(result instanceof ctor)) throw new Error('parse returned something that is not an instance');
  // What was accepted must travel: it serialises, and reads back equal.
  const again = parse(JSON.stringify(result));
  expect(JSON.stringify(again)).toBe(JSON.stringify(result));
}

// Keys an attacker would try, mixed with real field names so some inputs get close to valid.
const key = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'v', 'type', 'id', 'state', 'data', 'args', 'pattern'),
  fc.string(),
);
const oddObject = fc.dictionary(key, fc.anything({ maxDepth: 3 }), { maxKeys: 8 });
const nearlyValid = fc.record(
  {
    v: fc.constantFrom(1, 2, '1', null),
    type: fc.constantFrom('NOTIFY', 'REQUEST', 'RESPONSE', 'x'),
    state: fc.constantFrom('WAITING', 'SUCCESS', 'FAILURE', 'EVENT', 'RUNNING', 'nope'),
    id: fc.oneof(fc.stringMatching(INVOCATION_ID_PATTERN), fc.string()),
    data: fc.oneof(fc.jsonValue(), fc.record({ result: fc.jsonValue() }), fc.record({ failure: fc.anything() }), fc.record({ eventType: fc.string() })),
    worker: fc.oneof(fc.stringMatching(WORKER_ID_PATTERN), fc.anything()),
    event: fc.constantFrom('joined', 'expired', 'left'),
    at: fc.oneof(fc.string(), fc.constant('2024-05-01T12:00:00.000Z')),
    args: fc.jsonValue(),
    timeoutMs: fc.oneof(fc.integer(), fc.double()),
    pattern: fc.string(),
    tasks: fc.array(fc.string()),
  },
  { requiredKeys: [] },
);
const hostile = fc.anything({
  maxDepth: 4,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  withUnicodeString: true,
});

describe('parse robustness', () => {
  describe.each(parsers)('%s', (_name, parse, ctor) => {
    it('returns an instance or throws InvalidMessageError for any JSON value', () => {
      fc.assert(fc.property(fc.jsonValue(), (value) => parsesOrRejects(parse, ctor, value)), RUNS);
    });

    it('... for the same values as JSON text and as bytes', () => {
      fc.assert(
        fc.property(fc.jsonValue(), (value) => {
          const text = JSON.stringify(value);
          parsesOrRejects(parse, ctor, text);
          parsesOrRejects(parse, ctor, new TextEncoder().encode(text));
        }),
        RUNS,
      );
    });

    it('... for arbitrary objects, including __proto__ keys and odd values', () => {
      fc.assert(fc.property(oddObject, (value) => parsesOrRejects(parse, ctor, value)), RUNS);
      fc.assert(fc.property(nearlyValid, (value) => parsesOrRejects(parse, ctor, value)), RUNS);
    });

    it('... for anything JavaScript can hold', () => {
      fc.assert(fc.property(hostile, (value) => parsesOrRejects(parse, ctor, value)), RUNS);
    });

    it('... for arbitrary strings and byte arrays', () => {
      fc.assert(fc.property(fc.string({ unit: 'binary' }), (text) => parsesOrRejects(parse, ctor, text)), RUNS);
      fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => parsesOrRejects(parse, ctor, bytes)), RUNS);
    });
  });
});

// JSON values without -0 (JSON writes it as 0), so that "equal after a round trip" is exact.
const json = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as ReturnType<typeof JSON.parse>);
const iso = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
const invocationId = fc.stringMatching(INVOCATION_ID_PATTERN);
const workerId = fc.stringMatching(WORKER_ID_PATTERN);
const taskName = fc.stringMatching(TASK_NAME_PATTERN);
const jsonObject = fc.dictionary(fc.string(), json, { maxKeys: 5 });

function roundTrips<T extends object>(message: T, parse: (raw: unknown) => T): void {
  const bytes = new TextEncoder().encode(JSON.stringify(message));
  expect(parse(bytes)).toEqual(message);
}

describe('round trips', () => {
  it(`${NotifyMessage.name}: create -> JSON -> parse is the same message`, () => {
    const fields = fc.record({
      worker: workerId,
      topic: workerId.map((w) => `mesh.worker.${w}`),
      tasks: fc.array(taskName, { maxLength: 10 }),
      capacity: fc.integer({ min: 1, max: 1000 }),
      inflight: fc.integer({ min: 0, max: 1000 }),
      seq: fc.nat(),
      sentAt: iso,
    });
    fc.assert(fc.property(fields, (f) => roundTrips(NotifyMessage.create(f), (raw) => NotifyMessage.parse(raw))), RUNS);
  });

  it(`${RequestMessage.name}: create -> JSON -> parse is the same message`, () => {
    const fields = fc.record(
      {
        id: invocationId,
        task: taskName,
        args: json,
        key: fc.string({ minLength: 1, maxLength: 256 }),
        deadline: fc.nat(),
        createdAt: iso,
        parentId: invocationId,
      },
      { requiredKeys: ['id', 'task', 'deadline'] },
    );
    fc.assert(fc.property(fields, (f) => roundTrips(RequestMessage.create(f), (raw) => RequestMessage.parse(raw))), RUNS);
  });

  it(`${ResponseMessage.name}: every builder -> JSON -> parse is the same message`, () => {
    const meta = fc.record({ attempt: fc.integer({ min: 1, max: 100 }), worker: workerId, at: iso }, { requiredKeys: [] });
    const failure = fc
      .record({ code: fc.constantFrom(...FAILURE_CODES), message: fc.string(), retryable: fc.boolean(), details: fc.option(jsonObject, { nil: undefined }) })
      .map((f) => Failure.create(f.code, f.message, f));
    const response = fc.oneof(
      fc.tuple(invocationId, json, meta).map(([id, result, m]) => ResponseMessage.success(id, result, m)),
      fc.tuple(fc.option(invocationId, { nil: undefined }), failure, meta).map(([id, f, m]) => ResponseMessage.failure(id, f, m)),
      invocationId.map((id) => ResponseMessage.waiting(id)),
      fc.tuple(invocationId, fc.constantFrom('WAITING', 'PENDING', 'RUNNING') as fc.Arbitrary<'WAITING' | 'PENDING' | 'RUNNING'>, meta).map(([id, s, m]) => ResponseMessage.state(id, s, m)),
      fc.tuple(invocationId, fc.string({ minLength: 1, maxLength: 64 }), fc.option(jsonObject, { nil: undefined }), meta).map(([id, t, d, m]) => ResponseMessage.event(id, t, d, m)),
    );
    fc.assert(fc.property(response, (r) => roundTrips(r, (raw) => ResponseMessage.parse(raw))), RUNS);
  });

  it(`${WorkerEventMessage.name}: create -> JSON -> parse is the same message`, () => {
    const event = fc.tuple(fc.constantFrom('joined', 'expired') as fc.Arbitrary<'joined' | 'expired'>, workerId, iso);
    fc.assert(fc.property(event, ([e, w, at]) => roundTrips(WorkerEventMessage.create(e, w, at), (raw) => WorkerEventMessage.parse(raw))), RUNS);
  });

  it(`${CallRequest.name}: create -> JSON -> parse is the same request, also through the Nest envelope`, () => {
    const fields = fc.record(
      {
        args: json,
        id: invocationId,
        key: fc.string({ minLength: 1, maxLength: 256 }),
        timeoutMs: fc.integer({ min: 1, max: 86_400_000 }),
        delivery: fc.constantFrom('durable', 'direct') as fc.Arbitrary<'durable' | 'direct'>,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fields, (f) => {
        const request = CallRequest.create(f);
        roundTrips(request, (raw) => CallRequest.parse(raw));
        expect(parseCallBody(JSON.stringify(request)).request).toEqual(request);
      }),
      RUNS,
    );
    fc.assert(
      fc.property(json, fc.uuid(), (args, id) => {
        const body = parseCallBody(JSON.stringify({ pattern: 'mesh.call.echo', data: args, id }));
        expect(body.nest?.id).toBe(id);
        expect(body.request.args).toEqual(args);
      }),
      RUNS,
    );
  });
});
