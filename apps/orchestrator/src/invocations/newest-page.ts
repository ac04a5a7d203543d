import type { InvocationRecord } from '@taskmesh/protocol';

/**
 * Server and router clocks may differ by this much (NTP keeps them far closer): a record's `createdAt` (the router's
 * clock) is taken to be at most this far after the server's time of its first write. A page reads back this much
 * more of the most recent writes than it needs.
 */
export const CLOCK_SKEW_MS = 1000;

/**
 * One page of `mesh.invocations.list` (the `limit` newest matches by createdAt) gathered while reading the bucket's
 * stream backwards, from the most recent write. Pure. A record is written at or after its creation, so once the
 * stream has been read back to writes older than the page's oldest `createdAt` (less the clock skew), nothing
 * older in the stream can enter the page: `complete` says so. The same id met twice (rewritten during the read)
 * counts once, at its newest revision. Holds at most twice `limit` records.
 */
export class NewestPage {
  private readonly kept = new Map<string, { record: InvocationRecord; revision: number; at: number }>();

  constructor(private readonly limit: number) {}

  /** Offers a record met at `revision`; `matches` says whether it passes the list's filters. */
  add(record: InvocationRecord, revision: number, matches: boolean): void {
    const held = this.kept.get(record.id);
    if (held && held.revision >= revision) return;
    if (!matches) {
      this.kept.delete(record.id);
      return;
    }
    this.kept.set(record.id, { record, revision, at: createdMs(record) });
    if (this.kept.size >= 2 * this.limit) {
      const keep = new Set(this.sorted().slice(0, this.limit).map((e) => e.record.id));
      for (const id of this.kept.keys()) if (!keep.has(id)) this.kept.delete(id);
    }
  }

  /** Whether no record first written before `writtenAt` (server time, ms) can enter the page any more. */
  complete(writtenAt: number): boolean {
    if (this.kept.size < this.limit) return false;
    const oldest = this.sorted()[this.limit - 1]!.at;
    return writtenAt + CLOCK_SKEW_MS < oldest;
  }

  /** The page, newest first. */
  take(): InvocationRecord[] {
    return this.sorted().slice(0, this.limit).map((e) => e.record);
  }

  private sorted(): { record: InvocationRecord; at: number }[] {
    return [...this.kept.values()].sort((a, b) => b.at - a.at || b.record.createdAt.localeCompare(a.record.createdAt));
  }
}

function createdMs(record: InvocationRecord): number {
  const at = Date.parse(record.createdAt);
  return Number.isFinite(at) ? at : 0;
}
