import { InvalidMessageError } from './errors.js';
import { Failure } from './failure.js';
import { EventData, FailureData, ResponseMessage, SuccessData } from './response.message.js';

function problemsOf(raw: unknown): string[] {
  try {
    ResponseMessage.parse(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidMessageError);
    return (err as InvalidMessageError).problems;
  }
  throw new Error('expected parse to throw');
}

const base = { v: 1, type: 'RESPONSE', id: 'order-981' };

describe(ResponseMessage.name, () => {
  it('parses the three reply shapes of the contract (docs/PROTOCOL.md 4.1, 4.2)', () => {
    const success = ResponseMessage.parse('{ "v": 1, "type": "RESPONSE", "id": "a", "state": "SUCCESS", "data": { "result": 42 } }');
    expect(success.isFinal).toBe(true);
    expect(success.result).toBe(42);
    expect(success.data).toBeInstanceOf(SuccessData);

    const failure = ResponseMessage.parse({
      ...base,
      state: 'FAILURE',
      data: { failure: { code: 'TASK_FAILED', message: '...', retryable: false, details: {} } },
    });
    expect(failure.isFinal).toBe(true);
    expect(failure.failure).toBeInstanceOf(Failure);
    expect(failure.failure).toEqual({ code: 'TASK_FAILED', message: '...', retryable: false, details: {} });
    expect(failure.data).toBeInstanceOf(FailureData);
    expect(failure.result).toBeUndefined();

    const waiting = ResponseMessage.parse({ ...base, state: 'WAITING' });
    expect(waiting.isFinal).toBe(false);
    expect(waiting.data).toBeUndefined();
  });

  it('parses an EVENT with its data', () => {
    const event = ResponseMessage.parse({ ...base, state: 'EVENT', data: { eventType: 'progress', details: { done: 1, total: 3 } }, attempt: 1, worker: 'w-1' });
    expect(event.isFinal).toBe(false);
    expect(event.event).toBeInstanceOf(EventData);
    expect(event.event).toEqual({ eventType: 'progress', details: { done: 1, total: 3 } });
  });

  it('allows an error reply without id', () => {
    const reply = ResponseMessage.failure(undefined, Failure.create('BAD_REQUEST', 'not JSON'));
    expect(JSON.parse(JSON.stringify(reply))).toEqual({
      v: 1,
      type: 'RESPONSE',
      state: 'FAILURE',
      data: { failure: { code: 'BAD_REQUEST', message: 'not JSON', retryable: false } },
    });
    expect(ResponseMessage.parse(JSON.stringify(reply))).toEqual(reply);
  });

  it('builds every state, and each round-trips', () => {
    const messages = [
      ResponseMessage.success('a', { r: [1] }, { attempt: 2, worker: 'w-1', at: '2024-05-01T12:00:00.000Z' }),
      ResponseMessage.failure('a', Failure.create('OVERLOADED', 'queue full')),
      ResponseMessage.waiting('a'),
      ResponseMessage.state('a', 'PENDING'),
      ResponseMessage.state('a', 'RUNNING', { attempt: 1, worker: 'w-1' }),
      ResponseMessage.event('a', 'progress', { done: 1 }),
      ResponseMessage.event('a', 'heartbeat', undefined),
    ];
    for (const message of messages) expect(ResponseMessage.parse(JSON.stringify(message))).toEqual(message);
    expect(messages[1]!.failure?.retryable).toBe(true);
  });

  it('requires the data each final or EVENT state carries', () => {
    expect(problemsOf({ ...base, state: 'SUCCESS' })[0]).toMatch(/^data: is required for SUCCESS/);
    expect(problemsOf({ ...base, state: 'FAILURE', data: null })[0]).toMatch(/^data: is required for FAILURE/);
    expect(problemsOf({ ...base, state: 'EVENT', data: {} })).toEqual(['data.eventType: is required']);
    expect(problemsOf({ ...base, state: 'SUCCESS', data: {} })).toEqual(['data.result: is required']);
    expect(problemsOf({ ...base, state: 'FAILURE', data: { failure: 'boom' } })).toEqual(['data.failure: must be an object']);
    expect(problemsOf({ ...base, state: 'SUCCESS', data: [] })).toEqual(['data: must be an object']);
  });

  it('names the fields of a bad failure', () => {
    const problems = problemsOf({ ...base, state: 'FAILURE', data: { failure: { code: 'NOPE', message: 1, retryable: 'no', details: [], extra: 1 } } });
    expect(problems).toContain('unknown field "data.failure.extra"');
    expect(problems.map((p) => p.split(':')[0]).filter((p) => p.startsWith('data')).sort()).toEqual(
      ['data.failure.code', 'data.failure.details', 'data.failure.message', 'data.failure.retryable'],
    );
  });

  it('refuses data on states that carry none, tolerating {}', () => {
    expect(ResponseMessage.parse({ ...base, state: 'RUNNING', data: {} }).data).toBeUndefined();
    expect(problemsOf({ ...base, state: 'RUNNING', data: { result: 1 } })).toEqual(['unknown field "data.result"']);
  });

  it('refuses unknown states and fields', () => {
    expect(problemsOf({ ...base, state: 'DONE' })[0]).toMatch(/^state: must be one of/);
    expect(problemsOf({ ...base, state: 'WAITING', result: 1 })).toEqual(['unknown field "result"']);
    expect(problemsOf({ ...base, state: 'WAITING', attempt: 0 })[0]).toMatch(/^attempt: must be an integer >= 1/);
  });

  it('refuses a result that cannot be JSON', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(() => ResponseMessage.success('a', cycle)).toThrow(InvalidMessageError);
  });

  it('re-reads its own instances', () => {
    const message = ResponseMessage.failure('a', Failure.create('TIMEOUT', 'late', { details: { waitedMs: 5 } }));
    expect(ResponseMessage.parse(message)).toEqual(message);
  });
});
