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

/**
 * Visits the latest value of every key in a bucket once, in stream order (least recently written first), skipping
 * deleted and purged keys, as they were when the scan began. One ephemeral pull consumer (deliver last per subject,
 * no acks) fetches the values in batches of SCAN_BATCH and `visit` runs on each batch before the next is fetched,
 * so memory stays bounded by a batch whatever the bucket holds. That is about ten times faster than a `get` per
 * key (which costs a request-reply each), and it does not stall the way `kv.keys()` / `kv.watch()` can (see above).
 */
export async function scanBucket(kv: KV, visit: ScanVisitor): Promise<void> {
  if (!(kv instanceof Bucket)) {
    for (const key of await bucketKeys(kv)) {
      const entry = await kv.get(key);
      if (!entry || entry.operation !== 'PUT') continue;
      if ((await visit({ key, value: entry.value, revision: entry.revision })) === false) return;
    }
    return;
  }
  const info = await kv.jsm.consumers.add(kv.stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.LastPerSubject,
    filter_subject: `${kv.prefix}.>`,
    inactive_threshold: nanos(SCAN_INACTIVE_MS),
    mem_storage: true,
  });
  try {
    // Only what was there when the scan began: later writes would visit a key twice.
    let left = info.num_pending;
    const consumer = await kv.js.consumers.get(kv.stream, info.name);
    while (left > 0) {
      const batch: BucketEntry[] = [];
      let received = 0;
      let pending = left;
      for await (const m of await consumer.fetch({ max_messages: Math.min(SCAN_BATCH, left), expires: SCAN_FETCH_EXPIRES_MS })) {
        received++;
        pending = m.info.pending;
        const op = m.headers?.get('KV-Operation');
        if (op !== 'DEL' && op !== 'PURGE' && m.data.length > 0) batch.push({ key: m.subject.slice(kv.prefix.length + 1), value: m.data, revision: m.seq });
      }
      // Nothing within the fetch's wait: the server's count was high. None pending: the snapshot is done.
      if (received === 0) break;
      left = Math.min(left - received, pending);
      for (const entry of batch) if ((await visit(entry)) === false) return;
    }
  } finally {
    await kv.jsm.consumers.delete(kv.stream, info.name).catch(() => undefined);
  }
}
