// The raw peers the benchmark compares taskmesh with, run as their own process (as taskmesh's worker is):
//   node scripts/bench-peer.mjs nats <url>        responder on bench.nats (core request-reply)
//   node scripts/bench-peer.mjs jetstream <url>   pull consumer on stream BENCH_JS, replies to the Bench-Reply header, then acks
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, AckPolicy, RetentionPolicy, DiscardPolicy } from '@nats-io/jetstream';

const [mode, url] = process.argv.slice(2);
const nc = await connect({ servers: url, noAsyncTraces: true });
if (mode === 'nats') {
  nc.subscribe('bench.nats', { callback: (_e, m) => m.respond(m.data) });
} else {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BENCH_JS', subjects: ['bench.js.>'], retention: RetentionPolicy.Workqueue, discard: DiscardPolicy.New, max_msgs: 100_000 });
  await jsm.consumers.add('BENCH_JS', { durable_name: 'bench', ack_policy: AckPolicy.Explicit, max_ack_pending: 1000 });
  const consumer = await jetstream(nc).consumers.get('BENCH_JS', 'bench');
  const messages = await consumer.consume({ max_messages: 256 });
  void (async () => {
    for await (const m of messages) {
      nc.publish(m.headers.get('Bench-Reply'), m.data);
      m.ack();
    }
  })();
}
await nc.flush();
process.stdout.write('ready\n');
process.on('SIGTERM', async () => {
  await nc.drain().catch(() => undefined);
  process.exit(0);
});
