import { rendezvousOwner } from '@taskmesh/protocol';
import { placeDirect, type Placeable } from './placement.js';

const w = (id: string, load: number, tasks = ['echo']): Placeable => ({ id, topic: `mesh.worker.${id}`, tasks, load });

describe(placeDirect.name, () => {
  it('chooses the least loaded worker that offers the task', () => {
    expect(placeDirect([w('a', 3), w('b', 1), w('c', 0, ['sleep'])], 'echo', undefined)?.id).toBe('b');
  });

  it('breaks ties by id, so replicas agree', () => {
    expect(placeDirect([w('b', 2), w('a', 2)], 'echo', undefined)?.id).toBe('a');
  });

  it('skips excluded workers (they refused the call or were lost with it) and finds none when none is left', () => {
    expect(placeDirect([w('a', 0), w('b', 5)], 'echo', undefined, new Set(['a']))?.id).toBe('b');
    expect(placeDirect([w('a', 0)], 'echo', undefined, new Set(['a']))).toBeUndefined();
    expect(placeDirect([w('a', 0)], 'sleep', undefined)).toBeUndefined();
  });

  it('sends every call of a key to its rendezvous owner, whatever the load', () => {
    const pool = [w('a', 0), w('b', 9), w('c', 4)];
    for (const key of ['customer-1', 'customer-2', 'order-77']) {
      expect(placeDirect(pool, 'echo', key)?.id).toBe(rendezvousOwner(key, ['a', 'b', 'c']));
    }
  });

  it('moves a key to its next owner when its owner is excluded', () => {
    const owner = rendezvousOwner('k', ['a', 'b', 'c'])!;
    const next = placeDirect([w('a', 0), w('b', 0), w('c', 0)], 'echo', 'k', new Set([owner]));
    expect(next?.id).toBe(rendezvousOwner('k', ['a', 'b', 'c'].filter((id) => id !== owner)));
  });
});
