import fc from 'fast-check';
import { MinHeap } from './min-heap.js';

describe(MinHeap.name, () => {
  it('pops in ascending order whatever was pushed and removed (property)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: -1000, max: 1000 })), fc.integer({ min: 0, max: 7 }), (values, mod) => {
      const heap = new MinHeap<number>((a, b) => a < b);
      values.forEach((v) => heap.push(v));
      const removed = heap.removeWhere((v) => mod > 0 && Math.abs(v) % 8 === mod);
      const popped: number[] = [];
      while (heap.size > 0) popped.push(heap.pop()!);
      const expected = values.filter((v) => !(mod > 0 && Math.abs(v) % 8 === mod)).sort((a, b) => a - b);
      expect(popped).toEqual(expected);
      expect(removed.length + popped.length).toBe(values.length);
    }));
  });
});
