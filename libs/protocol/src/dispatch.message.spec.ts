import { DispatchCreateRequest } from './dispatch-create.request.js';
import { DispatchDeletedReplyMessage } from './dispatch-deleted-reply.message.js';
import { DispatchEventMessage } from './dispatch-event.message.js';
import { DispatchIdRequest } from './dispatch-id.request.js';
import { DispatchListRequest } from './dispatch-list.request.js';
import { DispatchReplyMessage } from './dispatch-reply.message.js';
import { DispatchUpdateRequest } from './dispatch-update.request.js';
import { DispatchMessage, dispatchInvocationId } from './dispatch.message.js';
import { FailureCode } from './failure.js';
import { MeshError } from './errors.js';
import { INVOCATION_ID_PATTERN } from './limits.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof MeshError ? err.code : 'not a MeshError';
  }
};

const dispatch = DispatchMessage.create({
  id: 'd1', task: 'echo', args: { a: 1 }, start: '2024-05-01T12:00:00.000Z', duration: 500, recurrence: 'FREQ=SECONDLY;COUNT=3',
  active: true, dryRun: false, misfire: 'skip', createdAt: '2024-05-01T11:00:00.000Z', updatedAt: '2024-05-01T11:00:00.000Z',
});

describe(DispatchCreateRequest.name, () => {
  it('fills the defaults: active, not a dry run, misfire skip, args null', () => {
    const r = DispatchCreateRequest.parse('{"task":"echo","start":"2024-05-01T12:00:00Z"}');
    expect({ ...r }).toEqual({ task: 'echo', args: null, start: '2024-05-01T12:00:00Z', active: true, dryRun: false, misfire: 'skip' });
  });

  it('accepts an RRULE string or {cron}, and a time zone', () => {
    expect(DispatchCreateRequest.parse({ task: 't', start: '2024-05-01T12:00:00Z', recurrence: { cron: '*/5 * * * *' }, timezone: 'Europe/Berlin' }).recurrence).toEqual({ cron: '*/5 * * * *' });
    expect(DispatchCreateRequest.parse({ task: 't', start: '2024-05-01T12:00:00Z', recurrence: 'RRULE:FREQ=DAILY' }).recurrence).toBe('RRULE:FREQ=DAILY');
  });

  it('answers VALIDATION_FAILED naming each bad field, BAD_REQUEST for an unreadable body', () => {
    expect(() => DispatchCreateRequest.parse({ task: 'a.b', start: 'tomorrow', duration: 0, misfire: 'sometimes', recurrence: { cron: '' }, bogus: 1 }))
      .toThrow(/unknown field "bogus".*recurrence: cron.*task: .*start: .*duration: .*misfire: /);
    expect(codeOf(() => DispatchCreateRequest.parse({ task: 'echo' }))).toBe(FailureCode.VALIDATION_FAILED);
    expect(codeOf(() => DispatchCreateRequest.parse({ task: 'echo', start: '2024-05-01T12:00:00Z', recurrence: { rrule: 'x' } }))).toBe(FailureCode.VALIDATION_FAILED);
    expect(codeOf(() => DispatchCreateRequest.parse('not json'))).toBe(FailureCode.BAD_REQUEST);
    expect(codeOf(() => DispatchCreateRequest.parse('[]'))).toBe(FailureCode.BAD_REQUEST);
    expect(codeOf(() => DispatchCreateRequest.parse({ v: 2, task: 'echo' }))).toBe(FailureCode.BAD_REQUEST);
  });
});

describe(DispatchUpdateRequest.name, () => {
  it('keeps what is left out, lists what null removes', () => {
    const r = DispatchUpdateRequest.parse({ id: 'd1', active: false, duration: null, recurrence: null });
    expect(r).toMatchObject({ id: 'd1', active: false, cleared: ['duration', 'recurrence'] });
    expect('task' in r).toBe(false);
    expect('args' in r).toBe(false);
    expect(DispatchUpdateRequest.parse({ id: 'd1', args: null }).args).toBeNull();
  });

  it('refuses to remove a required field', () => {
    expect(() => DispatchUpdateRequest.parse({ id: 'd1', start: null })).toThrow(/start: cannot be removed/);
    expect(codeOf(() => DispatchUpdateRequest.parse({ active: true }))).toBe(FailureCode.VALIDATION_FAILED);
  });
});

describe('dispatch get / delete / list bodies', () => {
  it('reads {id} and {task?, limit?}', () => {
    expect(DispatchIdRequest.parse('{"id":"d1"}').id).toBe('d1');
    expect(() => DispatchIdRequest.parse('{"id":"a:b"}')).toThrow(/id: must match/);
    expect({ ...DispatchListRequest.parse('{}') }).toEqual({ limit: 100 });
    expect(codeOf(() => DispatchListRequest.parse('{"limit":5000}'))).toBe(FailureCode.VALIDATION_FAILED);
  });
});

describe(DispatchMessage.name, () => {
  it('round-trips through JSON, and the replies wrap it', () => {
    expect(DispatchMessage.parse(JSON.stringify(dispatch))).toEqual(dispatch);
    const reply = JSON.parse(JSON.stringify(new DispatchReplyMessage(dispatch)));
    expect(reply).toEqual({ v: 1, dispatch: JSON.parse(JSON.stringify(dispatch)) });
    expect(DispatchReplyMessage.parse(reply).dispatch).toEqual(dispatch);
    expect(DispatchDeletedReplyMessage.parse({ v: 1, deleted: 'd1' }).deleted).toBe('d1');
    expect(() => DispatchReplyMessage.parse({ v: 2, dispatch })).toThrow(/protocol version/);
  });

  it('gives each occurrence an invocation id within the id pattern', () => {
    const id = dispatchInvocationId('x'.repeat(64), 8_640_000_000_000_000);
    expect(id).toMatch(INVOCATION_ID_PATTERN);
    expect(dispatchInvocationId('d1', 1714564800000)).toBe('dispatch:d1:1714564800000');
  });
});

describe(DispatchEventMessage.name, () => {
  it('creates and parses events, with the occurrence for running-state events', () => {
    const e = DispatchEventMessage.create('started', dispatch, { at: '2024-05-01T12:00:00.010Z', occurrence: '2024-05-01T12:00:00.000Z' });
    expect(DispatchEventMessage.parse(JSON.stringify(e))).toEqual(e);
    expect(JSON.parse(JSON.stringify(DispatchEventMessage.create('created', dispatch, { at: '2024-05-01T12:00:00.010Z' })))).not.toHaveProperty('occurrence');
    expect(() => DispatchEventMessage.parse({ v: 1, event: 'paused', dispatch: { id: 'x' }, at: 'now' })).toThrow(/event: .*dispatch\.task: /);
  });
});
