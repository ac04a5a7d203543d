import { CycleDetectedError, InternalError, NotFoundError, ResponseMessage, Failure } from '@taskmesh/protocol';
import { outcomeOf, readBody, readDeadLetter, readDispatch, readInvocationRecord, readResponse, readWorker, listOf } from './replies.js';

const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
};
const record = { v: 1, id: 'inv-1', task: 'echo', state: 'SUCCESS', attempts: 1, createdAt: '2026-01-01T00:00:00.000Z', children: [], result: { a: 1 } };

describe(readResponse.name, () => {
  it('reads a RESPONSE; anything else is an InternalError naming the subject and the problems', () => {
    expect(readResponse('mesh.call.echo', bytes({ v: 1, type: 'RESPONSE', id: 'i1', state: 'SUCCESS', data: { result: 3 } })).result).toBe(3);
    const err = thrown(() => readResponse('mesh.call.echo', bytes({ v: 1, type: 'RESPONSE', state: 'SUCCESS' })));
    expect(err).toBeInstanceOf(InternalError);
    expect(err).toMatchObject({ message: expect.stringMatching(/^malformed reply to mesh\.call\.echo: data: is required for SUCCESS/), details: { subject: 'mesh.call.echo' } });
    expect(thrown(() => readResponse('s', new TextEncoder().encode('not json')))).toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/not valid JSON/) });
  });
});

describe(outcomeOf.name, () => {
  it('is the result of a SUCCESS, the MeshError of a FAILURE with the invocation id, a malformed reply otherwise', () => {
    expect(outcomeOf('s', ResponseMessage.success('i1', null))).toBeNull();
    const failure = Failure.create('CYCLE_DETECTED', 'loop', { retryable: false, details: { task: 'chain' } });
    const err = thrown(() => outcomeOf('s', ResponseMessage.failure('i1', failure)));
    expect(err).toBeInstanceOf(CycleDetectedError);
    expect(err).toMatchObject({ code: 'CYCLE_DETECTED', retryable: false, details: { task: 'chain', invocationId: 'i1' } });
    expect(thrown(() => outcomeOf('s', ResponseMessage.failure(undefined, failure), 'asked'))).toMatchObject({ details: { invocationId: 'asked' } });
    expect(thrown(() => outcomeOf('s', ResponseMessage.waiting('i1')))).toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/WAITING where an outcome/) });
  });
});

describe(readBody.name, () => {
  const readRecord = (v: unknown, problems: string[]) => readInvocationRecord(v, 'invocation', problems);

  it('reads {"v":1, field} bodies; an error reply throws its MeshError', () => {
    expect(readBody('mesh.invocations.get', bytes({ v: 1, invocation: record }), 'invocation', readRecord)).toEqual(record);
    const notFound = ResponseMessage.failure(undefined, Failure.create('NOT_FOUND', 'no invocation x'));
    expect(thrown(() => readBody('mesh.invocations.get', bytes(notFound), 'invocation', readRecord))).toBeInstanceOf(NotFoundError);
  });

  it('lists every problem of a malformed body', () => {
    const err = thrown(() => readBody('mesh.invocations.list', bytes({ v: 2, invocations: [record, { ...record, id: 'a b', state: 'DONE' }, 7] }), 'invocations', listOf('invocations', readInvocationRecord)));
    expect(err).toBeInstanceOf(InternalError);
    expect((err as InternalError).details?.['problems']).toEqual([
      'v: must be 1', 'invocations[1].id: must be an invocation id', 'invocations[1].state: must be a request state', 'invocations[2]: must be an invocation record',
    ]);
    expect(thrown(() => readBody('s', bytes({ v: 1 }), 'workers', listOf('workers', readWorker)))).toMatchObject({ details: { problems: ['workers: is required', 'workers: must be an array'] } });
    expect(thrown(() => readBody('s', bytes([1]), 'workers', listOf('workers', readWorker)))).toMatchObject({ details: { problems: ['body: must be a JSON object'] } });
  });
});

describe('reply items', () => {
  it('checks a FAILURE record\'s failure', () => {
    const problems: string[] = [];
    expect(readInvocationRecord({ ...record, state: 'FAILURE', result: undefined, failure: { code: 'X' } }, 'r', problems)).toBeUndefined();
    expect(problems).toEqual(['r.failure.message: must be a string', 'r.failure.retryable: must be a boolean']);
  });

  it('reads workers, dead letters (header fields optional) and dispatches', () => {
    const problems: string[] = [];
    const worker = { id: 'w1', topic: 'mesh.worker.w1', tasks: ['echo'], capacity: 8, inflight: 0, seq: 3, lastSeenMs: 10, uptimeMs: 100, restarts: 0 };
    expect(readWorker(worker, 'w', problems)).toEqual(worker);
    expect(readDeadLetter({ seq: 4, task: 'invalid', reason: 'not a REQUEST', body: 'text' }, 'd', problems)).toMatchObject({ seq: 4 });
    const dispatch = { v: 1, id: 'd1', task: 'echo', args: null, start: '2026-01-01T00:00:00.000Z', active: true, dryRun: false, misfire: 'skip', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };
    expect(readDispatch(dispatch, 'dispatch', problems)).toEqual(dispatch);
    expect(problems).toEqual([]);
    expect(readWorker({ ...worker, capacity: 'eight' }, 'w', problems)).toBeUndefined();
    expect(readDispatch({ ...dispatch, misfire: 'never', updatedAt: 'yesterday' }, 'dispatch', problems)).toBeUndefined();
    expect(problems).toEqual(['w.capacity: must be a number', 'dispatch.updatedAt: must be an ISO instant', expect.stringMatching(/^dispatch\.misfire: /)]);
  });
});
