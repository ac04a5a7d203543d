import { newInvocationRecord, seedRecord } from './invocation.record.js';

const base = newInvocationRecord({ id: 'inv-1', task: 'echo', argsDigest: 'abc', key: 'k', createdAt: '2026-12-03T10:00:00.000Z', deadline: 1_796_300_000_000 });

describe('seedRecord', () => {
  it('reads back the record newInvocationRecord made', () => {
    expect(seedRecord(JSON.stringify(base), 'inv-1')).toEqual(base);
    const bare = newInvocationRecord({ id: 'inv-2', task: 't', createdAt: '2026-12-03T10:00:00.000Z' });
    expect(seedRecord(JSON.stringify(bare), 'inv-2')).toEqual(bare);
  });

  it('refuses a record of another invocation', () => {
    expect(seedRecord(JSON.stringify(base), 'inv-2')).toBeUndefined();
  });

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['null', 'null'],
    ['a started record', JSON.stringify({ ...base, state: 'RUNNING' })],
    ['a record with attempts', JSON.stringify({ ...base, attempts: 1 })],
    ['a final record', JSON.stringify({ ...base, state: 'SUCCESS', result: 1 })],
    ['children listed', JSON.stringify({ ...base, children: ['x'] })],
    ['an unknown field', JSON.stringify({ ...base, registration: 'reg.echo' })],
    ['a bad task name', JSON.stringify({ ...base, task: 'a.b' })],
    ['a bad createdAt', JSON.stringify({ ...base, createdAt: 'yesterday' })],
    ['a bad deadline', JSON.stringify({ ...base, deadline: -1 })],
    ['an empty key', JSON.stringify({ ...base, key: '' })],
    ['a bad parent id', JSON.stringify({ ...base, parentId: 'a b' })],
    ['another protocol version', JSON.stringify({ ...base, v: 99 })],
  ])('refuses %s', (_what, text) => {
    expect(seedRecord(text, 'inv-1')).toBeUndefined();
  });
});
