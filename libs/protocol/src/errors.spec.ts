import {
  CancelledError,
  CycleDetectedError,
  failureOf,
  IllegalTransitionError,
  InternalError,
  InvalidMessageError,
  InvalidSubjectTokenError,
  MAX_PROBLEMS,
  MeshError,
  MeshTimeoutError,
  NotFoundError,
  OverloadedError,
  ProtocolVersionError,
  TaskFailedError,
  UnknownTaskError,
  ValidationFailedError,
  WorkerLostError,
} from './errors.js';
import { DEFAULT_RETRYABLE, Failure, FAILURE_CODES, FAILURE_STATUS, FailureCode } from './failure.js';
import { headerSafe, MeshHeader, serviceErrorHeaders } from './headers.js';
import { ResponseMessage } from './response.message.js';

describe(MeshError.name, () => {
  it('carries code, retryable, details and a chained cause', () => {
    const cause = new Error('disk full');
    const error = new MeshError(FailureCode.INTERNAL, 'store write failed', { cause, details: { bucket: 'x' } });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('MeshError');
    expect(error.cause).toBe(cause);
    expect(error.retryable).toBe(DEFAULT_RETRYABLE.INTERNAL);
    expect(error.toFailure()).toEqual({ code: 'INTERNAL', message: 'store write failed', retryable: true, details: { bucket: 'x' } });
    expect(error.toFailure()).toBeInstanceOf(Failure);
  });

  const rebuilt: Array<[FailureCode, new (...args: never[]) => MeshError]> = [
    ['BAD_REQUEST', InvalidMessageError],
    ['VALIDATION_FAILED', ValidationFailedError],
    ['UNKNOWN_TASK', UnknownTaskError],
    ['TIMEOUT', MeshTimeoutError],
    ['TASK_FAILED', TaskFailedError],
    ['CANCELLED', CancelledError],
    ['CYCLE_DETECTED', CycleDetectedError],
    ['OVERLOADED', OverloadedError],
    ['WORKER_LOST', WorkerLostError],
    ['NOT_FOUND', NotFoundError],
    ['INTERNAL', InternalError],
  ];

  it('has a subclass for every failure code', () => {
    expect(rebuilt.map(([code]) => code).sort()).toEqual([...FAILURE_CODES].sort());
  });

  it.each(rebuilt)('fromFailure rebuilds %s as its subclass, through the wire', (code, ctor) => {
    const wire = ResponseMessage.parse(JSON.stringify(ResponseMessage.failure('a', Failure.create(code, `failed: ${code}`, { retryable: true }))));
    const error = MeshError.fromFailure(wire.failure!);
    expect(error).toBeInstanceOf(ctor);
    expect(error.code).toBe(code);
    expect(error.message).toBe(`failed: ${code}`);
    expect(error.retryable).toBe(true);
  });

  it('rebuilds the special errors from their details', () => {
    const invalid = MeshError.fromFailure(InvalidMessageError.of('REQUEST message', ['args.foo: must be a string']).toFailure());
    expect(invalid).toBeInstanceOf(InvalidMessageError);
    expect((invalid as InvalidMessageError).problems).toEqual(['args.foo: must be a string']);

    const version = MeshError.fromFailure(new ProtocolVersionError(2).toFailure());
    expect(version).toBeInstanceOf(ProtocolVersionError);
    expect((version as ProtocolVersionError).receivedVersion).toBe(2);

    const token = MeshError.fromFailure(new InvalidSubjectTokenError('a.b', 'task', 'must not contain "."').toFailure());
    expect(token).toBeInstanceOf(InvalidSubjectTokenError);
    expect((token as InvalidSubjectTokenError).token).toBe('a.b');

    const illegal = MeshError.fromFailure(new IllegalTransitionError('SUCCESS', 'RUNNING').toFailure());
    expect(illegal).toBeInstanceOf(IllegalTransitionError);
    expect(illegal).toMatchObject({ from: 'SUCCESS', to: 'RUNNING' });

    const validation = MeshError.fromFailure(new ValidationFailedError('bad args', { problems: ['args.x: must be a string'] }).toFailure());
    expect(validation).toBeInstanceOf(ValidationFailedError);
    expect((validation as ValidationFailedError).problems).toEqual(['args.x: must be a string']);
  });

  it('reads an unknown code as INTERNAL', () => {
    const error = MeshError.fromFailure({ code: 'FUTURE_CODE' as FailureCode, message: 'x', retryable: false, details: undefined });
    expect(error).toBeInstanceOf(InternalError);
  });
});

describe(InvalidMessageError.name, () => {
  it('is a BAD_REQUEST listing its problems, in the message and the details', () => {
    const error = InvalidMessageError.of('call request', ['unknown field "bogus"', 'args.foo: must be a string']);
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('invalid call request: unknown field "bogus"; args.foo: must be a string');
    expect(error.toFailure().details).toEqual({ problems: ['unknown field "bogus"', 'args.foo: must be a string'] });
  });

  it('caps a long problem list', () => {
    const error = InvalidMessageError.of('x', Array.from({ length: 100 }, (_, i) => `p${i}`));
    expect(error.problems).toHaveLength(MAX_PROBLEMS);
    expect(error.problems.at(-1)).toBe(`... and ${100 - MAX_PROBLEMS + 1} more problems`);
  });

  it('has ProtocolVersionError as a subclass', () => {
    const error = new ProtocolVersionError(7);
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.message).toMatch(/protocol version 7 is not supported/);
  });
});

describe(failureOf.name, () => {
  it('keeps a MeshError code and returns a Failure as is', () => {
    expect(failureOf(new OverloadedError('full')).code).toBe('OVERLOADED');
    const failure = Failure.create('NOT_FOUND', 'gone');
    expect(failureOf(failure)).toBe(failure);
  });

  it('maps anything else to the default code, INTERNAL unless told', () => {
    expect(failureOf(new TypeError('x is undefined'))).toEqual({ code: 'INTERNAL', message: 'x is undefined', retryable: true, details: { error: 'TypeError' } });
    expect(failureOf(new Error('boom'), FailureCode.TASK_FAILED)).toMatchObject({ code: 'TASK_FAILED', message: 'boom', retryable: false });
    expect(failureOf('plain string', 'TASK_FAILED').message).toBe('plain string');
    expect(failureOf(undefined).message).toBe('undefined');
    expect(failureOf({ reason: 'x' }).message).toBe('{"reason":"x"}');
    expect(failureOf({ n: 10n }).message).toBe('unprintable error');
  });
});

describe('FAILURE_STATUS', () => {
  it('gives every code its documented numeric Nats-Service-Error-Code', () => {
    expect(FAILURE_STATUS).toEqual({
      BAD_REQUEST: 400,
      VALIDATION_FAILED: 422,
      UNKNOWN_TASK: 404,
      TIMEOUT: 408,
      TASK_FAILED: 500,
      CANCELLED: 499,
      CYCLE_DETECTED: 409,
      OVERLOADED: 503,
      WORKER_LOST: 502,
      NOT_FOUND: 404,
      INTERNAL: 500,
    });
  });
});

describe(serviceErrorHeaders.name, () => {
  it('returns the two NATS micro error headers', () => {
    expect(serviceErrorHeaders(Failure.create('OVERLOADED', 'work queue full'))).toEqual({
      [MeshHeader.ServiceError]: 'work queue full',
      [MeshHeader.ServiceErrorCode]: '503',
    });
  });

  it('makes the message a legal, short header value', () => {
    const headers = serviceErrorHeaders(Failure.create('TASK_FAILED', `line one\r\nline two\u0000${'x'.repeat(5000)}`));
    expect(headers['Nats-Service-Error']).not.toMatch(/[\r\n]/);
    expect(headers['Nats-Service-Error']).not.toContain(String.fromCharCode(0));
    expect(headers['Nats-Service-Error']!.length).toBeLessThanOrEqual(1024);
    expect(headerSafe('')).toBe('');
    expect(serviceErrorHeaders(Failure.create('TIMEOUT', ''))['Nats-Service-Error']).toBe('TIMEOUT');
  });
});
