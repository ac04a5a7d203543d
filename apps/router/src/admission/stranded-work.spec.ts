import { argsDigest, CallRequest, newInvocationRecord, RequestState, ResponseMessage, type InvocationRecord } from '@taskmesh/protocol';
import { isStranded } from './stranded-work.js';

const T0 = Date.parse('2026-12-03T10:00:00.000Z');
const WITHIN = 60_000;
const request = CallRequest.create({ id: 'order-1', args: { n: 1 }, timeoutMs: 30_000 });
const waiting = (fields: Partial<InvocationRecord> = {}): InvocationRecord =>
  ({ ...newInvocationRecord({ id: 'order-1', task: 'echo', argsDigest: argsDigest({ n: 1 }), createdAt: new Date(T0).toISOString(), deadline: T0 + 120_000 }), ...fields });

describe(isStranded.name, () => {
  it('a repeat soon after a record that never started, with the same arguments: queue it again', () => {
    expect(isStranded(waiting(), undefined, request, T0 + 1000, WITHIN)).toBe(true);
    expect(isStranded(waiting(), undefined, request, T0 + WITHIN - 1, WITHIN)).toBe(true);
  });

  it('not once the first publish may have left the duplicate window, or past the deadline', () => {
    expect(isStranded(waiting(), undefined, request, T0 + WITHIN, WITHIN)).toBe(false);
    expect(isStranded(waiting({ deadline: T0 + 500 }), undefined, request, T0 + 501, WITHIN)).toBe(false);
    expect(isStranded(waiting({ deadline: undefined }), undefined, request, T0 + 1, WITHIN)).toBe(false);
    expect(isStranded(waiting({ createdAt: 'not a time' }), undefined, request, T0 + 1, WITHIN)).toBe(false);
  });

  it('not when it started, per its record or its last event, or ended', () => {
    expect(isStranded(waiting({ state: RequestState.RUNNING, attempts: 1 }), undefined, request, T0 + 1, WITHIN)).toBe(false);
    expect(isStranded(waiting({ attempts: 1 }), undefined, request, T0 + 1, WITHIN)).toBe(false);
    expect(isStranded(waiting(), ResponseMessage.state('order-1', RequestState.RUNNING, { attempt: 1 }), request, T0 + 1, WITHIN)).toBe(false);
    expect(isStranded(waiting({ state: RequestState.SUCCESS, attempts: 1, result: 1 }), undefined, request, T0 + 1, WITHIN)).toBe(false);
    expect(isStranded(waiting(), ResponseMessage.success('order-1', 1, { attempt: 1 }), request, T0 + 1, WITHIN)).toBe(false);
  });

  it('not with other arguments, not under a registration (its claim may be missing too), not without a record', () => {
    expect(isStranded(waiting(), undefined, CallRequest.create({ id: 'order-1', args: { n: 2 } }), T0 + 1, WITHIN)).toBe(false);
    expect(isStranded(waiting({ registration: 'reg.echo' }), undefined, request, T0 + 1, WITHIN)).toBe(false);
    expect(isStranded(undefined, undefined, request, T0 + 1, WITHIN)).toBe(false);
  });
});
