import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { bucketKeys } from '#nats';
import { startNatsServer, type NatsServer } from '#testing';

const T = 60_000;

describe(bucketKeys.name, () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let kv: KV;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
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
    // The orchestrator's records: created, then updated twice, a new one every 100 ms.
    let stop = false;
    let n = 0;
    const writing = (async () => {
      while (!stop) {
        const key = `w-${n++}`;
        await kv.create(key, 'WAITING');
        await kv.put(key, 'RUNNING');
        await kv.put(key, 'SUCCESS');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
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
      stop = true;
      await writing;
    }
  }, T);
});
