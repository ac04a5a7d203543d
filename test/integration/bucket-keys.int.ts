import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { bucketKeys, removeKey, scanBucket, type BucketEntry } from '@taskmesh/nats';
import { Role } from '@taskmesh/protocol';
import { startNatsServer, type NatsServer } from '@taskmesh/testing';

const T = 60_000;
/** A fetch for messages that are not there waits 5 s: a scan that takes this long has stalled. */
const SCAN_STALL_MS = 2_000;

/** Writes like the orchestrator does (a key created, then updated twice), a new key every `pauseMs`, until stopped. */
function writeRecords(kv: KV, pauseMs: number): () => Promise<void> {
  let stop = false;
  let n = 0;
  const writing = (async () => {
    while (!stop) {
      const key = `w-${n++}`;
      await kv.create(key, 'WAITING');
      await kv.put(key, 'RUNNING');
      await kv.put(key, 'SUCCESS');
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();
  return async () => {
    stop = true;
    await writing;
  };
}

describe(`${bucketKeys.name}, ${scanBucket.name} and ${removeKey.name}`, () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let kv: KV;

  beforeAll(async () => {
    server = await startNatsServer();
    // The test stands in for the apps' lib code and reads JetStream directly: the admin, who may do all of it.
    nc = await connect({ servers: server.url, ...server.login(Role.Admin) });
    kv = await new Kvm(jetstream(nc)).create('SCAN', { history: 1 });
  }, T);

  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  }, T);

  it('lists every key once, deleted ones included (readers skip their markers)', async () => {
    expect(await bucketKeys(kv)).toEqual([]);
    for (const key of ['a', 'b', 'c=1']) await kv.put(key, 'x');
    await kv.put('a', 'y');
    await kv.delete('b');
    expect((await bucketKeys(kv)).sort()).toEqual(['a', 'b', 'c=1']);
  }, T);

  it('answers at once while keys are being created and updated (where kv.keys() stalls for seconds)', async () => {
    const stopWriting = writeRecords(kv, 100);
    try {
      let slowest = 0;
      const until = performance.now() + 15_000;
      while (performance.now() < until) {
        const t = performance.now();
        const keys = await bucketKeys(kv);
        slowest = Math.max(slowest, performance.now() - t);
        expect(new Set(keys).size).toBe(keys.length);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(slowest).toBeLessThan(1_000);
    } finally {
      await stopWriting();
    }
  }, T);

  const scan = async (bucket: KV, stopAfter = Infinity): Promise<BucketEntry[]> => {
    const seen: BucketEntry[] = [];
    await scanBucket(bucket, (e) => {
      seen.push(e);
      return seen.length < stopAfter;
    });
    return seen;
  };
  const consumersOf = async (stream: string): Promise<number> => (await (await jetstreamManager(nc)).consumers.list(stream).next()).length;
  const text = (e: BucketEntry): string => new TextDecoder().decode(e.value);
  /** Counts the bucket's `get` calls from now on. */
  const countGets = (bucket: KV): (() => number) => {
    let gets = 0;
    const get = bucket.get.bind(bucket);
    bucket.get = (...args) => {
      gets++;
      return get(...args);
    };
    return () => gets;
  };

  it('scans the latest value of each live key once, with its revision, skipping deleted and purged keys', async () => {
    const bucket = await new Kvm(jetstream(nc)).create('SCAN1', { history: 1 });
    expect(await scan(bucket)).toEqual([]);
    for (const key of ['a', 'b', 'c=1', 'd']) await bucket.put(key, `${key}-1`);
    const rev = await bucket.put('a', 'a-2');
    await bucket.delete('b');
    await bucket.purge('d');
    const seen = await scan(bucket);
    expect(seen.map((e) => [e.key, text(e)]).sort()).toEqual([['a', 'a-2'], ['c=1', 'c=1-1']]);
    expect(seen.find((e) => e.key === 'a')?.revision).toBe(rev);
    expect(await consumersOf('KV_SCAN1')).toBe(0);
  }, T);

  it('scans thousands of keys in batches, stops when the visitor says so, and leaves no consumer behind', async () => {
    const bucket = await new Kvm(jetstream(nc)).create('SCAN2', { history: 1 });
    const n = 2500;
    for (let i = 0; i < n; i += 250) await Promise.all(Array.from({ length: 250 }, (_, j) => bucket.put(`k-${i + j}`, String(i + j))));
    // Every other key rewritten: the stream has as many gaps as messages, which must not end the reading early.
    for (let i = 0; i < n; i += 500) await Promise.all(Array.from({ length: 250 }, (_, j) => bucket.put(`k-${i + 2 * j}`, `${i + 2 * j}'`)));
    const gets = countGets(bucket);
    const all = await scan(bucket);
    expect(all).toHaveLength(n);
    expect(new Set(all.map((e) => e.key)).size).toBe(n);
    expect(all.find((e) => e.key === 'k-2')?.value).toEqual(new TextEncoder().encode("2'"));
    expect(gets()).toBe(0); // one pass of the consumer, no get per key
    expect(await scan(bucket, 1200)).toHaveLength(1200);
    await expect(scanBucket(bucket, () => { throw new Error('visitor failed'); })).rejects.toThrow('visitor failed');
    expect(await consumersOf('KV_SCAN2')).toBe(0);
  }, T);

  it('scans without stalling or repeating a key while keys are being created and updated', async () => {
    const bucket = await new Kvm(jetstream(nc)).create('SCAN3', { history: 1 });
    for (let i = 0; i < 500; i++) await bucket.put(`old-${i}`, 'SUCCESS');
    const stopWriting = writeRecords(bucket, 20);
    try {
      let slowest = 0;
      let scans = 0;
      const until = performance.now() + 10_000;
      while (performance.now() < until) {
        const t = performance.now();
        const keys = (await scan(bucket)).map((e) => e.key);
        slowest = Math.max(slowest, performance.now() - t);
        scans++;
        expect(new Set(keys).size).toBe(keys.length);
        expect(keys.filter((k) => k.startsWith('old-'))).toHaveLength(500);
      }
      expect(scans).toBeGreaterThan(5);
      expect(slowest).toBeLessThan(SCAN_STALL_MS);
    } finally {
      await stopWriting();
    }
    expect(await consumersOf('KV_SCAN3')).toBe(0);
  }, T);

  it.each([
    ['about 1000 rewrites a second', 1],
    ['rewrites as fast as the scan reads', 0],
  ])('visits every key exactly once while keys are rewritten, %s', async (_, pauseMs) => {
    // History 1: a rewrite removes the key's message, which the scan may not have reached yet, and appends another.
    const bucket = await new Kvm(jetstream(nc)).create(`SCAN4-${pauseMs}`, { history: 1 });
    const n = 3000;
    for (let i = 0; i < n; i += 250) await Promise.all(Array.from({ length: 250 }, (_, j) => bucket.put(`k-${i + j}`, '0')));
    let stop = false;
    let rewrites = 0;
    const rewriting = (async () => {
      while (!stop) {
        const i = Math.floor(Math.random() * n);
        await Promise.all([bucket.put(`k-${i}`, String(++rewrites)), bucket.put(`k-${(i + 1) % n}`, String(++rewrites))]);
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    })();
    const gets = countGets(bucket);
    try {
      for (let round = 0; round < 20; round++) {
        const keys = (await scan(bucket)).map((e) => e.key);
        expect(keys.length - new Set(keys).size).toBe(0);
        expect(keys).toHaveLength(n);
      }
      expect(gets()).toBeLessThan((20 * n) / 10); // nearly all read by the consumer
    } finally {
      stop = true;
      await rewriting;
    }
    expect(rewrites).toBeGreaterThan(100); // the scans did run among rewrites
    expect(await consumersOf(`KV_SCAN4-${pauseMs}`)).toBe(0);
  }, T);

  it('removes a key without leaving a marker, and with a revision only if the key is still at it', async () => {
    const bucket = await new Kvm(jetstream(nc)).create('SCAN6', { history: 1 });
    const messages = async (): Promise<number> => (await (await jetstreamManager(nc)).streams.info('KV_SCAN6')).state.messages;
    await bucket.put('gone', '1');
    expect(await removeKey(bucket, 'gone')).toBe(true);
    expect(await bucket.get('gone')).toBeNull();
    expect(await messages()).toBe(0);
    expect(await removeKey(bucket, 'gone')).toBe(false); // nothing there
    const old = await bucket.put('kept', '1');
    const newer = await bucket.put('kept', '2');
    expect(await removeKey(bucket, 'kept', old)).toBe(false);
    expect((await bucket.get('kept'))?.string()).toBe('2');
    expect(await removeKey(bucket, 'kept', newer)).toBe(true);
    expect(await messages()).toBe(0);
    await bucket.create('kept', '3'); // as if it had never been there
    expect(await scan(bucket)).toHaveLength(1);
    // A revision whose message is gone from inside the stream (not before its first or after its last message).
    const first = await bucket.put('a', '1');
    await bucket.put('b', '1');
    await bucket.put('a', '2');
    expect(await removeKey(bucket, 'a', first)).toBe(false);
    expect((await bucket.get('a'))?.string()).toBe('2');
  }, T);

  it('neither ends early nor stalls when keys ahead of it are removed, and removing gives the storage back', async () => {
    // A subject purge would do both on nats-server 2.9.10: end every scan running at the time, and keep the bytes.
    const bucket = await new Kvm(jetstream(nc)).create('SCAN7', { history: 1 });
    const jsm = await jetstreamManager(nc);
    const n = 3000;
    for (let i = 0; i < n; i += 500) await Promise.all(Array.from({ length: 500 }, (_, j) => bucket.put(`k-${i + j}`, 'x'.repeat(200))));
    const seen = new Set<string>();
    const started = performance.now();
    await scanBucket(bucket, async (e) => {
      seen.add(e.key);
      if (seen.size === 1000) expect(await removeKey(bucket, 'k-2500')).toBe(true);
    });
    expect(seen.size).toBe(n - 1);
    expect(seen.has('k-2500')).toBe(false);
    expect(performance.now() - started).toBeLessThan(SCAN_STALL_MS);
    const used = (await jsm.getAccountInfo()).storage;
    for (let i = 0; i < 1000; i++) await removeKey(bucket, `k-${i}`);
    expect((await jsm.getAccountInfo()).storage).toBeLessThan(used - 1000 * 200);
  }, T);

  it('reads a bucket that keeps several values per key with a get per key (latest values only), and removes keys with kv.purge', async () => {
    const bucket = await new Kvm(jetstream(nc)).create('SCAN5', { history: 5 });
    for (const key of ['a', 'b', 'c']) for (let v = 1; v <= 3; v++) await bucket.put(key, `${key}-${v}`);
    await bucket.delete('c');
    expect((await scan(bucket)).map((e) => [e.key, text(e)]).sort()).toEqual([['a', 'a-3'], ['b', 'b-3']]);
    // Removing a key must not bring back an older value of it.
    await removeKey(bucket, 'a');
    expect((await scan(bucket)).map((e) => e.key)).toEqual(['b']);
  }, T);
});
