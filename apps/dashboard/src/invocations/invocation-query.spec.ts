import { LIST_WINDOW, paginate, parseInvocationQuery, QueryError } from './invocation-query.js';

const at = (minute: number): string => new Date(Date.UTC(2026, 11, 3, 12, minute)).toISOString();

describe(parseInvocationQuery.name, () => {
  it('defaults to the first page of 25 with no filter', () => {
    expect(parseInvocationQuery({})).toEqual({ page: 1, size: 25 });
  });

  it('reads every filter; empty parameters are absent', () => {
    expect(parseInvocationQuery({ task: 'sleep', state: 'RUNNING', key: 'k 1', from: at(0), to: at(5), page: '2', size: '10' })).toMatchObject({
      task: 'sleep', state: 'RUNNING', key: 'k 1', from: Date.parse(at(0)), to: Date.parse(at(5)), page: 2, size: 10,
    });
    expect(parseInvocationQuery({ task: '', state: '' })).toEqual({ page: 1, size: 25 });
  });

  it('names every bad parameter at once', () => {
    try {
      parseInvocationQuery({ task: 'a.b', state: 'DONE', from: 'yesterday', size: '0', page: String(LIST_WINDOW + 1), limit: '3', key: ['a', 'b'] });
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(QueryError);
      expect((err as QueryError).problems).toEqual([
        'limit: unknown parameter (task, state, key, from, to, page, size)', 'task: must be a task name', expect.stringMatching(/^state: must be one of WAITING/),
        'key: must be given once', 'from: must be a date and time (ISO 8601)', 'size: must be an integer from 1 to 200', `page: must be an integer from 1 to ${LIST_WINDOW}`,
      ]);
    }
  });

  it('refuses a time range that ends before it starts', () => {
    expect(() => parseInvocationQuery({ from: at(5), to: at(0) })).toThrow('from: must not be after to');
  });
});

describe(paginate.name, () => {
  it('cuts pages in order, counts them, and answers an empty page past the last', () => {
    const records = Array.from({ length: 10 }, (_, i) => `r${9 - i}`);
    expect(paginate(records, 1, 4, false)).toMatchObject({ items: records.slice(0, 4), total: 10, pages: 3, truncated: false });
    expect(paginate(records, 3, 4, true)).toMatchObject({ items: records.slice(8), pages: 3, truncated: true });
    expect(paginate(records, 4, 4, false)).toMatchObject({ items: [], pages: 3 });
    expect(paginate([], 1, 4, false)).toMatchObject({ items: [], total: 0, pages: 1 });
    expect(paginate(['a', 'b', 'c'], 2, 2, false)).toEqual({ items: ['c'], page: 2, size: 2, total: 3, pages: 2, truncated: false });
  });
});
