/** A binary min-heap ordered by `less`; `removeWhere` is O(n) (as the seed's `_remove_scheduled`), the rest O(log n). */
export class MinHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    this.items.push(item);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    const top = this.items[0];
    const last = this.items.pop();
    if (this.items.length > 0 && last !== undefined) {
      this.items[0] = last;
      this.down(0);
    }
    return top;
  }

  /** Removes every item matching `match`; returns them (in no particular order). */
  removeWhere(match: (item: T) => boolean): T[] {
    const removed = this.items.filter(match);
    if (removed.length === 0) return removed;
    const kept = this.items.filter((i) => !match(i));
    this.items.length = 0;
    this.items.push(...kept);
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.down(i);
    return removed;
  }

  /** The items matching `match`, in no particular order. */
  filter(match: (item: T) => boolean): T[] {
    return this.items.filter(match);
  }

  private up(i: number): void {
    const items = this.items;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  private down(i: number): void {
    const items = this.items;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < items.length && this.less(items[l], items[smallest])) smallest = l;
      if (r < items.length && this.less(items[r], items[smallest])) smallest = r;
      if (smallest === i) return;
      [items[i], items[smallest]] = [items[smallest], items[i]];
      i = smallest;
    }
  }
}
