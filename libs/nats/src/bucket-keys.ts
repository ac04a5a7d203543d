import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { Bucket, type KV } from '@nats-io/kv';
import { nanos } from '@nats-io/transport-node';

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
 * Removes a key without leaving a delete marker: `kv.delete()` and `kv.purge()` write one, and a bucket of records
 * that are created and removed by the million (invocations, claims) would keep every marker forever, growing its
 * stream without bound and slowing every scan. Only for buckets nobody watches for deletes. With `revision`, the key
 * is removed only if it is still at that revision (a newer value stays). Returns whether something was removed.
 */
export async function removeKey(kv: KV, key: string, revision?: number): Promise<boolean> {
  if (!(kv instanceof Bucket)) {
    if (revision === undefined) await kv.purge(key);
    else await kv.delete(key, { previousSeq: revision });
    return true;
  }
  const filter = kv.fullKeyName(key);
  const done = await kv.jsm.streams.purge(kv.stream, revision === undefined ? { filter } : { filter, seq: revision + 1 });
  return done.purged > 0;
}

/** One live key of a bucket: its latest value and that value's revision. */
export interface BucketEntry {
  key: string;
  value: Uint8Array;
  revision: number;
}

/** What `visit` returns: false stops the scan. */
export type ScanVisitor = (entry: BucketEntry) => boolean | void | Promise<boolean | void>;

/** Entries fetched per pull request while scanning. */
const SCAN_BATCH = 1000;
/** How long one pull request waits for its batch. */
const SCAN_FETCH_EXPIRES_MS = 5000;
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
 * fetches the messages in batches of SCAN_BATCH and `visit` runs on each batch before the next is fetched. That is
 * about ten times faster than a `get` per key (a request-reply each), and it does not stall the way `kv.keys()` /
 * `kv.watch()` can (see above). A last-per-subject consumer would read the same messages, but on nats-server 2.9.10
 * it skips keys rewritten while it runs and delivers others twice (measured).
 *
 * Keys written while the scan runs: a rewrite removes the key's message and appends a new one at the end, so the
 * scan reads on past where the stream ended when it began, to where it ended when the scan got there, and visits a
 * key the first time it meets it. If writes were still arriving then, a key rewritten twice meanwhile may still be
 * ahead: the keys the scan did not meet are then taken from the subject index and read with a `get` each (keys
 * created during the scan, mostly). Memory: one batch, and the names of the keys met.
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
  if (read === 'writes went on') await visitByGets(kv, (await bucketKeys(kv)).filter((key) => !met.has(key)), visit);
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
 * Reads a history-1 bucket's stream through to where it ended when the reading got there (see scanBucket), visiting
 * each key the first time it is met (recorded in `met`). Says how it ended: nothing was left pending, `visit`
 * stopped it, or writes were still arriving.
 */
async function readStream(kv: Bucket, met: Set<string>, visit: ScanVisitor): Promise<'all read' | 'stopped' | 'writes went on'> {
  const info = await kv.jsm.consumers.add(kv.stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    filter_subject: `${kv.prefix}.>`,
    inactive_threshold: nanos(SCAN_INACTIVE_MS),
    mem_storage: true,
  });
  try {
    const consumer = await kv.js.consumers.get(kv.stream, info.name);
    const streamEnd = async (): Promise<number> => (await kv.jsm.streams.info(kv.stream)).state.last_seq;
    let pending = info.num_pending;
    // Where the stream ended when the scan began, then where it ended when the scan got there.
    let end = pending > 0 ? await streamEnd() : 0;
    let legs = 0;
    let budget = 2 * info.num_pending + SCAN_BATCH; // in case the counts run away
    while (pending > 0) {
      const batch: BucketEntry[] = [];
      let received = 0;
      let last = 0;
      for await (const m of await consumer.fetch({ max_messages: Math.min(SCAN_BATCH, pending, budget), expires: SCAN_FETCH_EXPIRES_MS })) {
        received++;
        pending = m.info.pending;
        last = m.seq;
        const key = m.subject.slice(kv.prefix.length + 1);
        if (!met.has(key)) {
          met.add(key);
          const op = m.headers?.get('KV-Operation');
          if (op !== 'DEL' && op !== 'PURGE' && m.data.length > 0) batch.push({ key, value: m.data, revision: m.seq });
        }
        // Do not wait out the fetch for messages that were counted and then removed by a rewrite.
        if (pending === 0) break;
      }
      budget -= received;
      for (const entry of batch) if ((await visit(entry)) === false) return 'stopped';
      if (received === 0) {
        // The server counted messages it did not deliver: removed since, or the server is not answering.
        pending = (await consumer.info()).num_pending;
        if (pending > 0) throw new Error(`scan of bucket ${kv.bucket} stalled with ${pending} messages pending`);
      }
      if (pending > 0 && last >= end) {
        if (++legs === 2) return 'writes went on';
        end = await streamEnd();
      }
      if (pending > 0 && budget <= 0) return 'writes went on';
    }
    return 'all read';
  } finally {
    await kv.jsm.consumers.delete(kv.stream, info.name).catch(() => undefined);
  }
}

/** Whether a bucket keeps one value per key (checked once per bucket handle). */
function oneValuePerKey(kv: KV): Promise<boolean> {
  let known = keepsOneValue.get(kv);
  if (!known) {
    known = kv.status().then((status) => status.history === 1);
    known.catch(() => keepsOneValue.delete(kv));
    keepsOneValue.set(kv, known);
  }
  return known;
}
