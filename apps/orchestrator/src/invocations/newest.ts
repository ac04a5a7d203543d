import type { InvocationRecord } from '#protocol';

/** The `limit` newest records (by createdAt) of those added, holding at most twice that many at a time. */
export class Newest {
  private kept: InvocationRecord[] = [];

  constructor(private readonly limit: number) {}

  add(record: InvocationRecord): void {
    this.kept.push(record);
    if (this.kept.length >= 2 * this.limit) this.kept = this.take();
  }

  /** Newest first. */
  take(): InvocationRecord[] {
    return this.kept.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, this.limit);
  }
}
