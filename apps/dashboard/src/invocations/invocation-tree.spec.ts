import { buildTree, displayState, rootOf, type TreeRecord } from './invocation-tree.js';

const rec = (id: string, children: string[] = [], parentId?: string, state = 'SUCCESS'): TreeRecord => ({ id, task: 't', state, children, ...(parentId ? { parentId } : {}) });
const map = (...rs: TreeRecord[]): Map<string, TreeRecord> => new Map(rs.map((r) => [r.id, r]));

describe(buildTree.name, () => {
  // A report fanned out to two children, one of which called a grandchild.
  const tree = map(rec('root', ['a', 'b']), rec('a', ['a1'], 'root'), rec('b', [], 'root', 'RUNNING'), rec('a1', [], 'a'));

  it('finds the root from any node by walking parentId', () => {
    expect(rootOf('a1', tree)).toBe('root');
    expect(rootOf('root', tree)).toBe('root');
    // The parent was not read (purged): the node read highest up is the root.
    expect(rootOf('x', map(rec('x', [], 'gone')))).toBe('x');
  });

  it('builds children in the order the record lists them', () => {
    expect(buildTree('root', tree)).toEqual({
      id: 'root', task: 't', state: 'SUCCESS', children: [
        { id: 'a', task: 't', state: 'SUCCESS', children: [{ id: 'a1', task: 't', state: 'SUCCESS', children: [] }] },
        { id: 'b', task: 't', state: 'RUNNING', children: [] },
      ],
    });
  });

  it('marks a child that could not be read, and counts children past the node budget', () => {
    expect(buildTree('p', map(rec('p', ['gone'])))).toEqual({ id: 'p', task: 't', state: 'SUCCESS', children: [{ id: 'gone', missing: true, children: [] }] });
    const wide = map(rec('p', ['c1', 'c2', 'c3']), rec('c1', [], 'p'), rec('c2', [], 'p'), rec('c3', [], 'p'));
    const cut = buildTree('p', wide, 2);
    expect(cut.children.map((c) => c.id)).toEqual(['c1']);
    expect(cut.more).toBe(2);
  });

  it('places each id once even if records disagree', () => {
    const odd = map(rec('p', ['c', 'c']), rec('c', ['p'], 'p'));
    expect(buildTree('p', odd)).toEqual({ id: 'p', task: 't', state: 'SUCCESS', children: [{ id: 'c', task: 't', state: 'SUCCESS', children: [] }] });
  });

  it('shows a cancelled failure as CANCELLED', () => {
    expect(displayState({ state: 'FAILURE', failure: { code: 'CANCELLED' } })).toBe('CANCELLED');
    expect(displayState({ state: 'FAILURE', failure: { code: 'TIMEOUT' } })).toBe('FAILURE');
  });
});
