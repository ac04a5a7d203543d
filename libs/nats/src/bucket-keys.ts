import { Bucket, type KV } from '@nats-io/kv';

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
