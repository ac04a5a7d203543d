/**
 * The waiting invocations that never started, by deadline: what the janitor must fail with TIMEOUT when a deadline
 * passes. Fed from the records the janitor reads at the bucket's tail (each write once); so finding the due ones
 * costs what is due, not what the bucket holds. Pure: a binary min-heap with a bound; an id added again with the
 * same deadline is kept once.
 */
export class DeadlineIndex {
  private readonly heap: { deadline: number; id: string }[] = [];
  private readonly deadlines = new Map<string, number>();

  /** At most `capacity` ids are held; `add` refuses more (the caller falls back to reading the whole bucket). */
  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.deadlines.size;
  }

  /** Remembers `id`'s deadline; false when full (it is not remembered). */
  add(id: string, deadline: number): boolean {
    if (this.deadlines.get(id) === deadline) return true;
    if (!this.deadlines.has(id) && this.deadlines.size >= this.capacity) return false;
    this.deadlines.set(id, deadline);
    this.push({ deadline, id });
    return true;
  }

  /** Removes and returns the ids whose deadline is at or before `at`, earliest first. */
  takeDue(at: number): string[] {
    const due: string[] = [];
    while (this.heap.length > 0 && this.heap[0]!.deadline <= at) {
      const top = this.pop();
      // Stale entries (the id was added again with another deadline) are skipped.
      if (this.deadlines.get(top.id) !== top.deadline) continue;
      this.deadlines.delete(top.id);
      due.push(top.id);
    }
    return due;
  }

  clear(): void {
    this.heap.length = 0;
    this.deadlines.clear();
  }

  private push(item: { deadline: number; id: string }): void {
    const h = this.heap;
    h.push(item);
    for (let i = h.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.deadline <= h[i]!.deadline) break;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  private pop(): { deadline: number; id: string } {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.deadline < h[m]!.deadline) m = l;
        if (r < h.length && h[r]!.deadline < h[m]!.deadline) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}
