import { newInvocationRecord, RequestState, type InvocationRecord } from '@taskmesh/protocol';
import { retentionAges, retentionClass, shortAgeAction, trimNeeded } from './retention.js';

const record = (id: string, fields: Partial<InvocationRecord> = {}): InvocationRecord => ({
  ...newInvocationRecord({ id, task: 'echo', createdAt: '2026-12-03T00:00:00.000Z' }), ...fields,
});
const done = (id: string, fields: Partial<InvocationRecord> = {}): InvocationRecord => record(id, { state: RequestState.SUCCESS, attempts: 1, result: 1, ...fields });

describe(retentionClass.name, () => {
  it('keeps caller-chosen ids as the lasting dedup, generated and derived child ids for the short age', () => {
    expect(retentionClass(record('inv-AbCdEfGhIjKlMnOpQrStUv'))).toBe('generated');
    expect(retentionClass(record('order-981'))).toBe('lasting');
    expect(retentionClass(record('dispatch:nightly:1795411736000'))).toBe('lasting');
    // Almost the generated form is a caller's choice.
    expect(retentionClass(record('inv-short'))).toBe('lasting');
    expect(retentionClass(record(`c-${'a1'.repeat(16)}`, { parentId: 'inv-AbCdEfGhIjKlMnOpQrStUv' }))).toBe('child');
    // A child given its own id by its parent's task is caller-chosen.
    expect(retentionClass(record('refund-7', { parentId: 'order-981' }))).toBe('lasting');
  });
});

describe(retentionAges.name, () => {
  it('never keeps generated ids longer than caller-chosen ones', () => {
    expect(retentionAges(7 * 86_400_000, 600_000)).toEqual({ lastingMs: 7 * 86_400_000, generatedMs: 600_000 });
    expect(retentionAges(2000, 600_000)).toEqual({ lastingMs: 2000, generatedMs: 2000 });
  });
});

describe(shortAgeAction.name, () => {
  it('purges final generated records, asks about a child\'s parent, and keeps live or lasting ones', () => {
    expect(shortAgeAction(done('inv-AbCdEfGhIjKlMnOpQrStUv'))).toBe('purge');
    expect(shortAgeAction(done(`c-${'0'.repeat(32)}`, { parentId: 'p' }))).toBe('purge-if-parent-ended');
    expect(shortAgeAction(done('order-981'))).toBe('keep');
    for (const state of [RequestState.WAITING, RequestState.PENDING, RequestState.RUNNING]) {
      expect(shortAgeAction(record('inv-AbCdEfGhIjKlMnOpQrStUv', { state }))).toBe('keep');
    }
  });
});

describe(trimNeeded.name, () => {
  it('asks for nothing up to 90% of a bound, and for the excess over 90% beyond', () => {
    const bounds = { maxRecords: 1000, maxBytes: 100_000 };
    expect(trimNeeded({ messages: 900, bytes: 90_000 }, bounds)).toEqual({ records: 0, bytes: 0 });
    expect(trimNeeded({ messages: 950, bytes: 10 }, bounds)).toEqual({ records: 50, bytes: 0 });
    expect(trimNeeded({ messages: 10, bytes: 99_000 }, bounds)).toEqual({ records: 0, bytes: 9_000 });
  });
});
