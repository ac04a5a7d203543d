import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { Bucket, type KV } from '@nats-io/kv';
import { nanos, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { newInbox } from './inbox.js';
import { isMessageGone, isWrongRevision } from './errors.js';

/**
 * The keys of a KV bucket, read from its stream's subject index (one paged STREAM.INFO request). `kv.keys()` runs an
 * ordered consumer that, while keys are being written, can stall for about ten seconds before it ends (reproduced
 * on nats-server 2.9.10 / nats.js 3.4 with a key created and updated every 100 ms: 3 stalls of 9-14 s in 30 s), and
 * can yield a key twice. The index has each key once, and also keys whose last operation is a delete or purge
 * marker: readers `get` each key and skip those.
 */
export async function bucketKeys(kv: KV): Promise<string[]> {
  if (kv instanceof Bucket) {
    const info = await kv.jsm.streams.info(kv.stream, { subjects_filter: `${kv.prefix}.>` });
    return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(kv.prefix.length + 1));
  }
  const keys = new Set<string>();
  for await (const key of await kv.keys()) keys.add(key);
  return [...keys];
}

/**
 * Removes a key without leaving a delete marker, by deleting its message from the stream. `kv.delete()` and
 * `kv.purge()` leave a marker per key, forever, and a bucket with a key per invocation (records, claims) would grow
 * without bound and slow every scan. Not a subject purge either: on nats-server before 2.9.15 a filtered purge moves
 * every consumer whose filter covers the subject past what it has not read yet (a running scan ends early), and on
 * file storage does not give the bytes back to the account's JetStream usage (nats-server#3838, #3876; both seen on
 * 2.9.10). Only for buckets whose watchers do not need to see deletes. With `revision`, the key is removed only if
 * it is still at that revision (a newer value stays). Returns whether something was removed.
 */
export async function removeKey(kv: KV, key: string, revision?: number): Promise<boolean> {
  // With more history, deleting the latest message would bring the previous value back.
  if (!(kv instanceof Bucket) || !(await oneValuePerKey(kv))) {
    if (revision === undefined) {
      await kv.purge(key);
      return true;
    }
    try {
      await kv.delete(key, { previousSeq: revision });
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }
  let seq = revision;
  if (seq === undefined) {
    const entry = await kv.get(key);
    if (!entry || entry.operation !== 'PUT') return false;
    seq = entry.revision;
  }
  try {
    // History 1: a newer value of the key has replaced (removed) the message at `seq`.
    return await kv.jsm.streams.deleteMessage(kv.stream, seq, false);
  } catch (err) {
    if (isMessageGone(err)) return false;
    throw err;
  }
}


/** One live key of a bucket: its latest value and that value's revision. */
export interface BucketEntry {
  key: string;
  value: Uint8Array;
  revision: number;
}

/** What `visit` returns: false stops the scan. */
export type ScanVisitor = (entry: BucketEntry) => boolean | void | Promise<boolean | void>;

/** Messages asked for per pull request while scanning. */
const SCAN_BATCH = 1000;
/** A pull request that gets no answer at all in this long: the server is not answering. */
const SCAN_PULL_TIMEOUT_MS = 10_000;
/** How long a pull after the first may wait when it finds nothing (see pullNow). */
const SCAN_PULL_EXPIRES_MS = 250;
/** The server removes a scan's consumer after this long unused (a scanner that died mid-scan). */
const SCAN_INACTIVE_MS = 120_000;

/** Per bucket handle: whether the bucket keeps one value per key. */
const keepsOneValue = new WeakMap<KV, Promise<boolean>>();

/**
 * Visits the latest value of every live key of a bucket once, skipping deleted and purged keys: every key live
 * throughout the scan exactly once, with a value at least as new as when the scan began; a key created or deleted
 * during the scan may or may not be visited.
 *
 * In a bucket with history 1 (every mesh bucket) the stream holds exactly one message per key, its latest value or
 * delete marker, so reading the stream reads every key once: one ephemeral pull consumer (deliver all, no acks)
 * reads the messages in batches of SCAN_BATCH and `visit` runs on each batch before the next is read. That is about
 * ten times faster than a `get` per key (a request-reply each), and it does not stall the way `kv.keys()` /
 * `kv.watch()` can (see above). A last-per-subject consumer would read the same messages, but on nats-server 2.9.10
 * it skips keys rewritten while it runs and delivers others twice (measured).
 *
 * Keys written while the scan runs: a rewrite removes the key's message and appends a new one at the end, which the
 * scan cannot pass without meeting it; the scan ends when a pull finds fewer messages than it asked for, so it has
 * met, at that moment, every key there is. It visits a key the first time it meets it. Each pull asks for what is
 * there now (`no_wait`), so a message removed after being counted never makes the scan wait. If writes outrun the
 * scan (it has read twice the stream's size plus a batch), it stops reading, and the keys it did not meet are taken
 * from the subject index and read with a `get` each. Memory: one batch, and the names of the keys met.
 *
 * A bucket that keeps more than one value per key (or a handle other than nats.js's Bucket) is read with a `get`
 * per key from the start.
 */
export async function scanBucket(kv: KV, visit: ScanVisitor): Promise<void> {
  if (!(kv instanceof Bucket) || !(await oneValuePerKey(kv))) {
    await visitByGets(kv, await bucketKeys(kv), visit);
    return;
  }
  const met = new Set<string>();
  const read = await readStream(kv, met, visit);
  if (read === 'outrun') await visitByGets(kv, (await bucketKeys(kv)).filter((key) => !met.has(key)), visit);
}

/** Visits the live ones of `keys`, a `get` each. Returns false when `visit` stopped the scan. */
async function visitByGets(kv: KV, keys: string[], visit: ScanVisitor): Promise<boolean> {
  for (const key of keys) {
    const entry = await kv.get(key);
    if (!entry || entry.operation !== 'PUT') continue;
    if ((await visit({ key, value: entry.value, revision: entry.revision })) === false) return false;
  }
  return true;
}

/**
 * Reads a history-1 bucket's stream to its end (see scanBucket), visiting each key the first time it is met
 * (recorded in `met`). Says how it ended: read to the end, stopped by `visit`, or outrun by writes.
 */
async function readStream(kv: Bucket, met: Set<string>, visit: ScanVisitor): Promise<'all read' | 'stopped' | 'outrun'> {
  const info = await kv.jsm.consumers.add(kv.stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    filter_subject: `${kv.prefix}.>`,
    inactive_threshold: nanos(SCAN_INACTIVE_MS),
    mem_storage: true,
  });
  try {
    const nc = natsConnectionOf(kv);
    const next = `${kv.js.getOptions().apiPrefix ?? '$JS.API'}.CONSUMER.MSG.NEXT.${kv.stream}.${info.name}`;
    let budget = 2 * info.num_pending + SCAN_BATCH;
    let pulls = 0;
    for (;;) {
      if (budget <= 0) return 'outrun';
      const asked = Math.min(SCAN_BATCH, budget);
      const messages = await pullNow(nc, next, asked, pulls++ > 0);
      budget -= messages.length;
      const batch: BucketEntry[] = [];
      for (const m of messages) {
        const key = m.subject.slice(kv.prefix.length + 1);
        if (met.has(key)) continue;
        met.add(key);
        const op = m.headers?.get('KV-Operation');
        if (op !== 'DEL' && op !== 'PURGE') batch.push({ key, value: m.data, revision: streamSequence(m) });
      }
      for (const entry of batch) if ((await visit(entry)) === false) return 'stopped';
      if (messages.length < asked) return 'all read';
    }
  } finally {
    await kv.jsm.consumers.delete(kv.stream, info.name).catch(() => undefined);
  }
}

/**
 * One pull request with `no_wait`: the messages the consumer has now, up to `batch`, and no waiting for more.
 * nats.js's `fetch` cannot ask for that: it waits out its expiry (at least a second) whenever fewer messages are
 * there than it asked for, which is how every scan ends, and the count a message carries (its `pending`) can include
 * messages removed since, so it cannot tell how many to ask for either.
 *
 * The server answers a plain `no_wait` request from its count of pending messages, which can drift while keys are
 * rewritten: a count of 0 with messages left would end the scan early, and one above 0 with none left gets no
 * answer. With `expires` it reads the store instead, and ends the request as soon as it has delivered what is there,
 * or at the expiry if there is nothing. So every pull after the first (whose count is fresh) carries a short one.
 */
export async function pullNow(nc: NatsConnection, next: string, batch: number, readStore: boolean): Promise<Msg[]> {
  const inbox = newInbox(nc);
  const messages: Msg[] = [];
  let answered = false;
  let timedOut = false;
  const sub = nc.subscribe(inbox);
  const timer = setTimeout(() => {
    timedOut = true;
    sub.unsubscribe();
  }, SCAN_PULL_TIMEOUT_MS);
  try {
    const request = readStore ? { batch, no_wait: true, expires: nanos(SCAN_PULL_EXPIRES_MS) } : { batch, no_wait: true };
    nc.publish(next, JSON.stringify(request), { reply: inbox });
    for await (const m of sub) {
      const status = m.data.length === 0 ? m.headers?.code ?? 0 : 0;
      if (status === 404 || status === 408) {
        answered = true; // no (more) messages now
        break;
      }
      if (status >= 300) throw new Error(`scan pull refused: ${status} ${m.headers?.description ?? ''}`.trim());
      if (status !== 0) continue; // 100: a heartbeat
      messages.push(m);
      if (messages.length === batch) {
        answered = true;
        break;
      }
    }
    if (!answered) throw new Error(timedOut ? `scan pull got no answer in ${SCAN_PULL_TIMEOUT_MS} ms` : 'scan pull: the connection closed');
    return messages;
  } finally {
    clearTimeout(timer);
    sub.unsubscribe();
  }
}

/** A JetStream message's stream sequence, from its ack subject (`$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>...`,
 * or the form with domain and account hash, two tokens longer). */
export function streamSequence(m: Msg): number {
  const tokens = (m.reply ?? '').split('.');
  const seq = Number(tokens.length >= 11 ? tokens[7] : tokens[5]);
  if (tokens[0] !== '$JS' || tokens[1] !== 'ACK' || !Number.isSafeInteger(seq) || seq < 1) throw new Error(`not a JetStream delivery: ${m.reply}`);
  return seq;
}

/** The connection under a bucket handle: nats.js's JetStream client keeps it as `nc` (not on its interface type). */
export function natsConnectionOf(kv: Bucket): NatsConnection {
  const nc = (kv.js as unknown as { nc?: NatsConnection }).nc;
  if (!nc) throw new Error('scanBucket: the bucket handle has no NATS connection');
  return nc;
}

/** Whether a bucket keeps one value per key (checked once per bucket handle). */
export function oneValuePerKey(kv: KV): Promise<boolean> {
  let known = keepsOneValue.get(kv);
  if (!known) {
    known = kv.status().then((status) => status.history === 1);
    known.catch(() => keepsOneValue.delete(kv));
    keepsOneValue.set(kv, known);
  }
  return known;
}
