import { invocationProgress, isFinalState, RequestState, type InvocationRecord } from '@taskmesh/protocol';
import type { InvocationReader, MeshBus, WrittenInvocation } from '@taskmesh/nats';
import { DeadlineIndex } from './deadline-index.js';
import { retentionAges, shortAgeAction, storedSize, trimNeeded, type RetentionAges, type StoreBounds } from './retention.js';
import { EXPIRY_GRACE_MS, sweep } from './sweep.js';

/** What one sweep did and read (records met per pass), for logs, metrics and measurements. */
export interface SweepReport {
  ms: number;
  read: { tail: number; short: number; lasting: number; trim: number };
  expired: number;
  purged: number;
  trimmed: number;
  /** The bucket after the sweep (before, if nothing was removed). */
  records: number;
  bytes: number;
  /** Waiting invocations whose deadline the janitor watches. */
  watched: number;
}

/** What the janitor needs to know and to tell. */
export interface JanitorOptions {
  lastingMs: number;
  generatedMs: number;
  bounds: StoreBounds;
  /** Counted: expired, purged, trimmed. */
  count(action: 'expired' | 'purged' | 'trimmed', n: number): void;
  warn(entry: Record<string, unknown>): void;
}

/**
 * Waiting invocations watched at most (twice the work queue's default bound, which bounds queued work). Past it the
 * deadline pass stops at the tail until some are due (logged): expiry of the newest waits, nothing is lost.
 */
export const MAX_WATCHED_DEADLINES = 200_000;
/** Record removals in flight at once (each is one request to the server). */
const REMOVALS_IN_FLIGHT = 64;

/**
 * The orchestrator's janitor: retention and expiry of invocation records, each pass reading only the part of the
 * bucket's stream it needs (the stream is in write order: docs/ARCHITECTURE.md, "Retention and sizing").
 *
 * 1. Tail: the records written since the last sweep; a waiting one that never started joins the deadline index.
 * 2. Expiry: the index's due ones are re-read and, still waiting and never started, failed TIMEOUT and cancelled.
 * 3. Short age: from its cursor to the records written the generated age ago; generated ids' final records are
 *    deleted (derived child ids' once their parent ended). Live records are passed: they are rewritten at the tail
 *    when they end, and met again.
 * 4. Lasting age: from the head to the records written MESH_PURGE_AFTER_MS ago; final records past it are deleted.
 * 5. Bounds: past 90% of the record or byte bound, the oldest final records go (head first) until under it.
 *
 * Safe on replicas: every write is revision-checked, and deleting is idempotent. State (cursors, index) is in
 * memory: after a restart the first sweep reads the whole bucket once.
 */
export class Janitor {
  private readonly ages: RetentionAges;
  private readonly deadlines = new DeadlineIndex(MAX_WATCHED_DEADLINES);
  /** Forward readers of the tail and of the short age: one consumer each for the janitor's life (see BucketReader). */
  private readonly tail: InvocationReader;
  private readonly short: InvocationReader;
  private readonly removals = new Set<Promise<void>>();
  private removalFailure: unknown;

  constructor(private readonly bus: MeshBus, private readonly opts: JanitorOptions) {
    this.ages = retentionAges(opts.lastingMs, opts.generatedMs);
    this.tail = bus.invocations.reader();
    this.short = bus.invocations.reader();
  }

  /** Deletes the readers' consumers. */
  async close(): Promise<void> {
    await Promise.all([this.tail.close(), this.short.close()]);
  }

  /** One sweep at wall-clock time `now`. */
  async sweep(now = Date.now()): Promise<SweepReport> {
    const started = performance.now();
    const report: SweepReport = { ms: 0, read: { tail: 0, short: 0, lasting: 0, trim: 0 }, expired: 0, purged: 0, trimmed: 0, records: 0, bytes: 0, watched: 0 };
    const store = this.bus.invocations;
    const usage = await store.usage();

    // 1. Tail: index the deadlines of what was written since the last sweep.
    await this.tail.read({ toSeq: usage.lastSeq }, ({ record }) => {
      report.read.tail++;
      if (record.state !== RequestState.WAITING || record.attempts !== 0 || record.deadline === undefined) return;
      if (!this.deadlines.add(record.id, record.deadline)) {
        this.opts.warn({ msg: 'too many waiting invocations to watch their deadlines; the newest wait to be watched', watched: this.deadlines.size });
        return false;
      }
    });

    // 2. Expiry of what is due.
    for (const id of this.deadlines.takeDue(now - EXPIRY_GRACE_MS)) {
      const stored = await store.get(id);
      if (!stored) continue;
      const action = sweep(stored.record, now, this.ages.lastingMs);
      if (action.kind === 'expire') {
        if (await this.expire(stored.record, action.record)) report.expired++;
      } else if (stored.record.state === RequestState.WAITING && stored.record.attempts === 0 && stored.record.deadline !== undefined) {
        this.deadlines.add(id, stored.record.deadline);
      }
    }
    report.watched = this.deadlines.size;

    // 3. Short age: generated ids (and derived child ids) from the cursor on.
    const parents = new Map<string, boolean>();
    await this.short.read({ toSeq: usage.lastSeq, writtenBefore: now - this.ages.generatedMs }, async (stored) => {
      report.read.short++;
      const action = shortAgeAction(stored.record);
      if (action === 'keep') return;
      if (action === 'purge-if-parent-ended' && !(await this.parentEnded(stored.record.parentId!, parents))) return;
      await this.remove(stored, () => report.purged++);
    });

    // 4. Lasting age: from the head, as far as records were written MESH_PURGE_AFTER_MS ago (if the head is that old).
    const lastingCutoff = now - this.ages.lastingMs;
    if (usage.firstWrittenAt !== undefined && usage.firstWrittenAt < lastingCutoff) {
      await store.walk({ fromSeq: usage.firstSeq, writtenBefore: lastingCutoff }, async (stored) => {
        report.read.lasting++;
        if (sweep(stored.record, now, this.ages.lastingMs).kind === 'purge') await this.remove(stored, () => report.purged++);
      });
    }
    await this.settleRemovals();
    this.opts.count('purged', report.purged);

    // 5. Bounds: the oldest final records go first.
    const after = report.purged > 0 ? await store.usage() : usage;
    const need = trimNeeded(after, this.opts.bounds);
    if (need.records > 0 || need.bytes > 0) {
      let records = 0;
      let bytes = 0;
      let oldest: string | undefined;
      await store.walk({ fromSeq: after.firstSeq, toSeq: after.lastSeq }, async (stored) => {
        if (records >= need.records && bytes >= need.bytes) return false;
        report.read.trim++;
        if (!isFinalState(stored.record.state)) return;
        records++;
        bytes += storedSize(stored.record.id, JSON.stringify(stored.record).length);
        oldest ??= stored.record.finishedAt;
        await this.remove(stored, () => report.trimmed++);
      });
      await this.settleRemovals();
      this.opts.count('trimmed', report.trimmed);
      this.opts.warn({
        msg: 'invocation records over 90% of their bound: removed the oldest final ones (their ids may run again)',
        removed: report.trimmed, oldestFinishedAt: oldest, records: after.messages, bytes: after.bytes, ...this.opts.bounds,
        ...(records < need.records || bytes < need.bytes ? { note: 'the rest are live: new invocations are refused at the bound' } : {}),
      });
    }
    const end = report.trimmed > 0 ? await store.usage() : after;
    report.records = end.messages;
    report.bytes = end.bytes;
    report.ms = performance.now() - started;
    return report;
  }

  /** Fails waiting work that never started: TIMEOUT, and cancelled so no worker starts it. */
  private async expire(record: InvocationRecord, expired: InvocationRecord): Promise<boolean> {
    // A start its record does not show yet (the recorder is behind, or was down) is in the events stream.
    if (invocationProgress(record, await this.bus.events.last(record.id)).kind !== 'waiting') return false;
    await this.bus.cancellations.cancel(record.id);
    const stored = await this.bus.invocations.get(record.id);
    // Lost a race (it started, or another replica expired it): if it still waits, the next sweep sees it again.
    if (stored && stored.record.state === record.state && stored.record.attempts === 0 && (await this.bus.invocations.update(expired, stored.revision))) {
      this.opts.count('expired', 1);
      this.opts.warn({ msg: 'expired: no worker started it before its deadline', invocationId: record.id, task: record.task });
      return true;
    }
    if (stored?.record.state === RequestState.WAITING && stored.record.attempts === 0) this.deadlines.add(record.id, record.deadline ?? 0);
    return false;
  }

  /** Whether a child's parent ended or is gone (looked up once per sweep). */
  private async parentEnded(parentId: string, known: Map<string, boolean>): Promise<boolean> {
    let ended = known.get(parentId);
    if (ended === undefined) {
      const parent = await this.bus.invocations.get(parentId);
      ended = parent === undefined || isFinalState(parent.record.state);
      known.set(parentId, ended);
    }
    return ended;
  }

  /** Removes a record at the revision met (a newer write stays), a bounded number at a time. */
  private async remove(stored: WrittenInvocation, removed: () => void): Promise<void> {
    while (this.removals.size >= REMOVALS_IN_FLIGHT) await Promise.race(this.removals);
    const done: Promise<void> = this.removeNow(stored, removed).finally(() => this.removals.delete(done));
    this.removals.add(done);
  }

  /** Never rejects: a failure is kept for settleRemovals. */
  private async removeNow(stored: WrittenInvocation, removed: () => void): Promise<void> {
    try {
      if (!(await this.bus.invocations.delete(stored.record.id, stored.revision))) return;
      removed();
      if (stored.record.registration !== undefined) await this.bus.claims.release(stored.record.registration, stored.record.id);
    } catch (err) {
      this.removalFailure ??= err;
    }
  }

  /** Waits for the removals in flight; throws the first failure among them (the next sweep tries those again). */
  private async settleRemovals(): Promise<void> {
    await Promise.all([...this.removals]);
    const failure = this.removalFailure;
    this.removalFailure = undefined;
    if (failure !== undefined) throw failure;
  }
}
