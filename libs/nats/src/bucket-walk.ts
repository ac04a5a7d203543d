import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { Bucket, type KV } from '@nats-io/kv';
import { nanos, type Msg } from '@nats-io/transport-node';
import { natsConnectionOf, oneValuePerKey, pullNow, streamSequence, type BucketEntry } from './bucket-keys.js';

/**
 * Reading a history-1 bucket's stream in write order, a part at a time. In such a bucket the stream holds one
 * message per key, and a rewrite removes the key's message and appends the new value at the tail: the stream is
 * an index of the keys by last write, oldest first, with the server's write time on every message. A reader that
 * wants "the records written before T" or "the newest records" reads that part of the stream and nothing else
 * (the janitor's passes and `mesh.invocations.list`: docs/ARCHITECTURE.md, "Retention").
 */

/** A live key as met in the stream: its value, its revision (stream sequence) and when the server stored it. */
export interface WrittenEntry extends BucketEntry {
  /** The server's time of the write, epoch ms. */
  writtenAt: number;
}

/** Which part of the stream to read. */
export interface WalkRange {
  /** First stream sequence to read (1 = from the head). */
  fromSeq: number;
  /** Last stream sequence to read (inclusive); default: to the end, as it grows. */
  toSeq?: number;
  /** Stop at the first message the server stored at or after this time (epoch ms). */
  writtenBefore?: number;
}

/** How a walk ended, and the sequence to resume at (the first message it did not consume). */
export interface WalkEnd {
  next: number;
  /** `end`: read to toSeq or the end; `newer`: met a message written at or after `writtenBefore`; `stopped`: `visit` returned false. */
  reason: 'end' | 'newer' | 'stopped';
  /** Messages read (markers and keys included). */
  read: number;
}

/** What `visit` returns: false stops the walk before this entry (it is not consumed: `next` is its sequence). */
export type WalkVisitor = (entry: WrittenEntry) => boolean | void | Promise<boolean | void>;

/** Stream state of a bucket: its sequence range and what it holds. */
export interface BucketUsage {
  firstSeq: number;
  lastSeq: number;
  messages: number;
  bytes: number;
  /** The server's write time of the oldest message (epoch ms), undefined when empty. */
  firstWrittenAt?: number;
}

/** Messages asked for per pull. */
const WALK_BATCH = 1000;
/** The server removes a walk's consumer after this long unused (a reader that died mid-walk). */
const WALK_INACTIVE_MS = 120_000;

/** The bucket stream's sequence range, message count and bytes (one STREAM.INFO). */
export async function bucketUsage(kv: KV): Promise<BucketUsage> {
  const bucket = historyOneBucket(kv);
  const { state } = await bucket.jsm.streams.info(bucket.stream);
  const first = state.messages > 0 ? Date.parse(state.first_ts) : NaN;
  return { firstSeq: state.first_seq, lastSeq: state.last_seq, messages: state.messages, bytes: state.bytes, ...(Number.isFinite(first) ? { firstWrittenAt: first } : {}) };
}

/**
 * A reader that only moves forward through a history-1 bucket's stream, read after read, on one consumer it keeps
 * (a walk opens and deletes one each time). nats-server before 2.10.17 keeps about 5.5 KB for every consumer created
 * and deleted, for good (reproduced on 2.9.10, whatever the name: 23 MB after 4,200 walks; nats-server#5600 fixed it):
 * a reader that runs every few seconds must not open one each time. A read stops like a walk (at `toSeq`, at a
 * message written at or after `writtenBefore`, or when `visit` returns false) and the next read starts at the
 * message it stopped at: delivered messages not yet consumed are held (at most one batch). If the consumer is lost
 * (a server restart, an error), the next read opens another where delivery had got to. `close` deletes it; a reader
 * that dies leaves it to the server (removed after 10 minutes unused).
 */
export class BucketReader {
  private consumer?: string;
  private held: Msg[] = [];
  private nextSeq: number;
  private deliveredTo: number;

  constructor(private readonly kv: KV, fromSeq = 1) {
    this.nextSeq = Math.max(1, fromSeq);
    this.deliveredTo = this.nextSeq - 1;
  }

  /** The first sequence not consumed yet. */
  get position(): number {
    return this.nextSeq;
  }

  /** Reads on from where the last read stopped (see the class). `range.fromSeq` is ignored. */
  async read(range: Omit<WalkRange, 'fromSeq'>, visit: WalkVisitor): Promise<WalkEnd> {
    const bucket = historyOneBucket(this.kv);
    let read = 0;
    const consume = async (messages: Msg[]): Promise<WalkEnd | undefined> => {
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i]!;
        const seq = streamSequence(m);
        const writtenAt = writeTime(m);
        const stop = (reason: WalkEnd['reason']): WalkEnd => {
          this.held = messages.slice(i);
          return { next: seq, reason, read };
        };
        if (range.toSeq !== undefined && seq > range.toSeq) return stop('end');
        if (range.writtenBefore !== undefined && writtenAt >= range.writtenBefore) return stop('newer');
        const op = m.headers?.get('KV-Operation');
        if (op !== 'DEL' && op !== 'PURGE') {
          const entry = { key: m.subject.slice(bucket.prefix.length + 1), value: m.data, revision: seq, writtenAt };
          if ((await visit(entry)) === false) return stop('stopped');
        }
        read++;
        this.nextSeq = seq + 1;
      }
      return undefined;
    };
    try {
      return await this.readOn(bucket, range, consume, () => read);
    } catch (err) {
      // Whatever was delivered and not consumed is read again, by another consumer from the first unconsumed.
      this.held = [];
      this.deliveredTo = this.nextSeq - 1;
      await this.close();
      throw err;
    }
  }

  private async readOn(bucket: Bucket, range: Omit<WalkRange, 'fromSeq'>, consume: (messages: Msg[]) => Promise<WalkEnd | undefined>, read: () => number): Promise<WalkEnd> {
    const held = this.held;
    this.held = [];
    const heldEnd = await consume(held);
    if (heldEnd) return heldEnd;
    for (;;) {
      if (range.toSeq !== undefined && this.nextSeq > range.toSeq) return { next: this.nextSeq, reason: 'end', read: read() };
      const messages = await pullNow(natsConnectionOf(bucket), await this.open(bucket), WALK_BATCH, true);
      if (messages.length > 0) this.deliveredTo = streamSequence(messages.at(-1)!);
      const end = await consume(messages);
      if (end) return end;
      if (messages.length < WALK_BATCH) {
        // Everything up to toSeq that still exists was delivered: the rest of the range was removed. Without this,
        // a range of removed messages would cost every later read a pull that waits out its expiry.
        if (range.toSeq !== undefined && this.nextSeq <= range.toSeq) this.nextSeq = range.toSeq + 1;
        this.deliveredTo = Math.max(this.deliveredTo, this.nextSeq - 1);
        return { next: this.nextSeq, reason: 'end', read: read() };
      }
    }
  }

  /** Deletes the consumer (the next read opens another). */
  async close(): Promise<void> {
    const name = this.consumer;
    this.consumer = undefined;
    if (name === undefined) return;
    const bucket = historyOneBucket(this.kv);
    await bucket.jsm.consumers.delete(bucket.stream, name).catch(() => undefined);
  }

  private async open(bucket: Bucket): Promise<string> {
    if (this.consumer === undefined) {
      if (!(await oneValuePerKey(bucket))) throw new Error(`BucketReader: bucket ${bucket.stream} keeps more than one value per key`);
      const info = await bucket.jsm.consumers.add(bucket.stream, {
        ack_policy: AckPolicy.None,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: this.deliveredTo + 1,
        inactive_threshold: nanos(READER_INACTIVE_MS),
        mem_storage: true,
      });
      this.consumer = info.name;
    }
    return `${bucket.js.getOptions().apiPrefix ?? '$JS.API'}.CONSUMER.MSG.NEXT.${bucket.stream}.${this.consumer}`;
  }
}

/** The server removes a reader's consumer after this long unused (its process died). */
const READER_INACTIVE_MS = 600_000;

/**
 * Visits the live keys of `range`, in stream (write) order, skipping delete and purge markers. One ephemeral pull
 * consumer (memory, no acks) starting at `fromSeq`, read in batches, `visit` run on each message before the next
 * batch is read: memory holds one batch. A key rewritten during the walk may be met twice (its old message, then
 * its new one at the tail) or, if its old message is removed before the walk reaches it, only at the tail.
 * Only for history-1 buckets (every mesh bucket); others are refused.
 */
export async function walkBucket(kv: KV, range: WalkRange, visit: WalkVisitor): Promise<WalkEnd> {
  const bucket = historyOneBucket(kv);
  if (!(await oneValuePerKey(bucket))) throw new Error(`walkBucket: bucket ${bucket.stream} keeps more than one value per key`);
  const fromSeq = Math.max(1, Math.floor(range.fromSeq));
  if (range.toSeq !== undefined && range.toSeq < fromSeq) return { next: fromSeq, reason: 'end', read: 0 };
  const info = await bucket.jsm.consumers.add(bucket.stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: fromSeq,
    // No filter: a bucket's stream holds only its keys, and on nats-server 2.9 creating a consumer with a wildcard
    // filter counts its pending messages subject by subject (about 150 ms at 200,000 keys), unfiltered by sequence.

    inactive_threshold: nanos(WALK_INACTIVE_MS),
    mem_storage: true,
  });
  let next = fromSeq;
  let read = 0;
  try {
    const nc = natsConnectionOf(bucket);
    const subject = `${bucket.js.getOptions().apiPrefix ?? '$JS.API'}.CONSUMER.MSG.NEXT.${bucket.stream}.${info.name}`;
    for (let pulls = 0; ; pulls++) {
      // The first pull's pending count is fresh; later ones read the store (see pullNow in bucket-keys.ts).
      const messages = await pullNow(nc, subject, WALK_BATCH, pulls > 0);
      for (const m of messages) {
        const seq = streamSequence(m);
        if (range.toSeq !== undefined && seq > range.toSeq) return { next: seq, reason: 'end', read };
        const writtenAt = writeTime(m);
        if (range.writtenBefore !== undefined && writtenAt >= range.writtenBefore) return { next: seq, reason: 'newer', read };
        const op = m.headers?.get('KV-Operation');
        if (op !== 'DEL' && op !== 'PURGE') {
          const entry = { key: m.subject.slice(bucket.prefix.length + 1), value: m.data, revision: seq, writtenAt };
          if ((await visit(entry)) === false) return { next: seq, reason: 'stopped', read };
        }
        read++;
        next = seq + 1;
      }
      if (messages.length < WALK_BATCH) return { next, reason: 'end', read };
    }
  } finally {
    await bucket.jsm.consumers.delete(bucket.stream, info.name).catch(() => undefined);
  }
}

/**
 * The server's write time of a JetStream delivery, from its ack subject (`$JS.ACK.<stream>.<consumer>.<delivered>.
 * <sseq>.<dseq>.<nanos>.<pending>`, or the form with domain and account hash, two tokens longer).
 */
function writeTime(m: Msg): number {
  const tokens = (m.reply ?? '').split('.');
  const ns = tokens.length >= 11 ? tokens[9] : tokens[7];
  const ms = Number(BigInt(ns ?? '0') / 1_000_000n);
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new Error(`not a JetStream delivery: ${m.reply}`);
  return ms;
}

function historyOneBucket(kv: KV): Bucket {
  if (!(kv instanceof Bucket)) throw new Error('walkBucket: needs a nats.js KV bucket handle');
  return kv;
}
