import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InvalidMessageError, isFinalState, MeshHeader, ResponseMessage, seedRecord, type InvocationRecord } from '@taskmesh/protocol';
import { MESH_BUS, type ConsumedMessage, type Consumption, type MeshBus } from '@taskmesh/nats';
import { counter, HealthRegistry, METRICS, ProgressCheck } from '@taskmesh/runtime';
import type { Registry } from 'prom-client';
import { applyEvent, type Verdict } from './apply-event.js';

/** A received event and its JetStream message (acked once the event is applied). */
interface Pending {
  event: ResponseMessage;
  m: ConsumedMessage;
}

/** A record as this replica last wrote it, and its revision. */
interface Written {
  record: InvocationRecord;
  revision: number;
}

/** Events applied at once (different invocations in parallel; one invocation's events strictly in order). */
const MAX_IN_FLIGHT = 64;
/** A record not there yet (its creator is a moment behind): retry the event after this long. */
const MISSING_RECORD_RETRY_MS = 500;
/** How long the first events of invocations wait for the ones right behind them (one window for all), to write them together. */
const COALESCE_MS = 5;
/** How long a start (RUNNING) with nothing behind it waits for the invocation's next event before it is written. */
const RUNNING_HOLD_MS = 50;
/** Revision conflicts (another replica wrote first) before the event is handed back to JetStream. */
const MAX_CONFLICTS = 5;
/**
 * Records of unfinished invocations this replica wrote, kept with their revision so the next event of the same
 * invocation (its outcome after RUNNING) is written without reading the record first. A stale entry (someone else
 * wrote since) only costs a revision conflict, then a read.
 */
const MAX_WRITTEN = 10_000;

/**
 * Applies every reported state change (the events stream) to the invocation records, through the request state
 * machine with attempt fencing (applyEvent). Safe with several orchestrator replicas: they share the durable
 * consumer, and every write is revision-checked (a lost race re-reads and re-applies).
 */
@Injectable()
export class RecorderService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Recorder');
  private messages?: Consumption;
  /** Events waiting to be applied, per invocation that has a write in progress. */
  private readonly queues = new Map<string, Pending[]>();
  private readonly running = new Set<Promise<void>>();
  private readonly written = new Map<string, Written>();
  /** The end of the current coalescing windows (by length), shared by every invocation that waits in them. */
  private readonly windows = new Map<number, Promise<void>>();
  /** Invocations whose start waits for their next event: what wakes each. */
  private readonly wakers = new Map<string, () => void>();
  private readonly progress = new ProgressCheck(60_000);
  private readonly counts;

  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(METRICS) metrics: Registry,
    health: HealthRegistry,
  ) {
    this.counts = {
      events: counter(metrics, 'taskmesh_orchestrator_events_total', 'Reported events, by verdict', ['verdict']),
      invalid: counter(metrics, 'taskmesh_invalid_messages_total', 'Inbound messages that failed validation', ['kind']),
    };
    health.register('nats', () => ({ ok: !bus.isClosed() }));
    health.register('recording', () => (this.messages ? { ok: true } : { ok: false, detail: 'not consuming events' }));
  }

  async onApplicationBootstrap(): Promise<void> {
    // A callback per message: cheaper than the async iterator (a promise per message) at a few thousand a second.
    this.messages = await this.bus.consumeRecorderEvents(MAX_IN_FLIGHT, (m) => this.onEvent(m));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.messages?.close();
    await Promise.allSettled([...this.running]);
  }

  private onEvent(m: ConsumedMessage): void {
    this.progress.beat();
    let event: ResponseMessage;
    try {
      event = ResponseMessage.parse(m.data);
    } catch (err) {
      this.counts.invalid.inc({ kind: 'RESPONSE' });
      this.log.warn({ msg: 'invalid event dropped', subject: m.subject, seq: m.seq, problems: err instanceof InvalidMessageError ? err.problems : String(err) });
      m.term();
      return;
    }
    const id = event.id ?? m.subject.slice(this.bus.subjects.invocationEvent('x').length - 1);
    // Per invocation in order, and what arrives while one is being written is applied with the next write (a
    // fast task's RUNNING and outcome then cost one write); across invocations in parallel, bounded by the
    // consumer's max_ack_pending.
    const queued = this.queues.get(id);
    if (queued) {
      queued.push({ event, m });
      this.wakers.get(id)?.();
      return;
    }
    const queue = [{ event, m }];
    this.queues.set(id, queue);
    const done = this.drain(id, queue).finally(() => {
      this.queues.delete(id);
      this.running.delete(done);
    });
    this.running.add(done);
  }

  /** Applies the invocation's queued events, in order, a batch per write, until none is left. Never rejects. */
  private async drain(id: string, queue: Pending[]): Promise<void> {
    // A moment for the events right behind the first (a short task's outcome follows its RUNNING within a
    // millisecond or two) to join it in the same write. A start alone waits longer (up to RUNNING_HOLD_MS, until the
    // next event of the invocation): most tasks end by then, and their record is written once, final.
    await this.coalesced(COALESCE_MS);
    if (!queue.some(({ event }) => isFinalState(event.state))) await this.nextEventOf(id);
    while (queue.length > 0) {
      const batch = queue.splice(0, queue.length);
      try {
        await this.apply(id, batch);
      } catch (err) {
        this.log.error({ msg: 'could not record events; JetStream will redeliver them', invocationId: id, events: batch.length, err: String(err) });
        for (const { m } of batch) m.nak(1000);
      }
    }
  }

  private async apply(id: string, batch: Pending[]): Promise<void> {
    for (let conflict = 0; conflict <= MAX_CONFLICTS; conflict++) {
      // First try: the record as this replica last wrote it, or the one the work came with, to create (no read:
      // a call with a generated id has no record before its first event). After a conflict: read it.
      const stored = (conflict === 0 ? (this.written.get(id) ?? this.seed(id, batch)) : undefined) ?? (await this.bus.invocations.get(id));
      if (!stored) {
        for (const { m } of batch) m.nak(MISSING_RECORD_RETRY_MS);
        this.counts.events.inc({ verdict: 'no-record-yet' }, batch.length);
        return;
      }
      let record = stored.record;
      const verdicts: Verdict[] = [];
      for (const { event } of batch) {
        const applied = applyEvent(record, event);
        if (applied.verdict === 'rejected') {
          this.log.warn({ msg: 'event rejected: superseded attempt or after the final outcome', invocationId: id, state: event.state, attempt: event.attempt, recordState: record.state, recordAttempts: record.attempts });
        }
        record = applied.record;
        verdicts.push(applied.verdict);
      }
      const revision = record === stored.record && stored.revision > 0 ? stored.revision : await this.bus.invocations.write(record, stored.revision);
      if (revision === undefined) {
        this.written.delete(id);
        continue;
      }
      this.remember(id, record, revision);
      for (const verdict of verdicts) this.counts.events.inc({ verdict });
      // Ended: new calls with the same registration key start a new invocation (a stale claim would also be
      // taken over, but releasing keeps the claims bucket small).
      if (isFinalState(record.state) && record.registration !== undefined) await this.bus.claims.release(record.registration, record.id);
      for (const { m } of batch) m.ack();
      return;
    }
    throw new Error(`${MAX_CONFLICTS} revision conflicts in a row`);
  }

  /**
   * No record yet: the first record the work came with (a call with a generated id is recorded by its first
   * event), as a record to create (revision 0). An unsound one is counted and ignored.
   */
  private seed(id: string, batch: Pending[]): Written | undefined {
    for (const { m } of batch) {
      const text = m.headers?.get(MeshHeader.Record);
      if (!text) continue;
      const record = seedRecord(text, id);
      if (record) return { record, revision: 0 };
      this.counts.invalid.inc({ kind: 'record-header' });
      this.log.warn({ msg: 'invalid first record on an event ignored', invocationId: id, subject: m.subject, seq: m.seq });
    }
    return undefined;
  }

  /** Resolves at the end of the current window of `ms` (one timer per window and length, not one per invocation). */
  private coalesced(ms: number): Promise<void> {
    let window = this.windows.get(ms);
    if (!window) {
      window = new Promise<void>((resolve) => setTimeout(() => {
        this.windows.delete(ms);
        resolve();
      }, ms));
      this.windows.set(ms, window);
    }
    return window;
  }

  /** Resolves when another event of invocation `id` arrives, or at the end of the current RUNNING_HOLD_MS window. */
  private nextEventOf(id: string): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        if (this.wakers.get(id) === wake) this.wakers.delete(id);
        resolve();
      };
      this.wakers.set(id, wake);
      void this.coalesced(RUNNING_HOLD_MS).then(wake);
    });
  }

  /** Keeps an unfinished record's revision for its next event; a final one is not written again by events. */
  private remember(id: string, record: InvocationRecord, revision: number): void {
    this.written.delete(id);
    if (isFinalState(record.state)) return;
    this.written.set(id, { record, revision });
    if (this.written.size > MAX_WRITTEN) this.written.delete(this.written.keys().next().value!);
  }
}
