// The raw peers the benchmark compares taskmesh with, run as their own process (as taskmesh's worker is), started by
// scripts/benchmark.mjs through `spawnApp` (so it is stopped with the run, however the run ends). Configured by env:
//   BENCH_PEER=nats       responder on bench.nats answering with the request data (core request-reply)
//   BENCH_PEER=jetstream  pull consumer (consume()) on the work-queue stream BENCH_JS: publishes the message data to
//                         the caller's inbox named in the Bench-Reply header, then acks
//   NATS_URL              the server
// Prints `ready` once it serves.
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, AckPolicy, RetentionPolicy, DiscardPolicy } from '@nats-io/jetstream';

const mode = process.env.BENCH_PEER;
if (mode !== 'nats' && mode !== 'jetstream') {
  console.error(`bench-peer: BENCH_PEER must be "nats" or "jetstream", got ${JSON.stringify(mode)}`);
  process.exit(2);
}
const nc = await connect({ servers: process.env.NATS_URL, noAsyncTraces: true });
if (mode === 'nats') {
  nc.subscribe('bench.nats', { callback: (_e, m) => m.respond(m.data) });
} else {
  const jsm = await jetstreamManager(nc);
  // Bounded like taskmesh's work queue: discard new at the limit, explicit acks, bounded ack-pending.
  await jsm.streams.add({ name: 'BENCH_JS', subjects: ['bench.js.>'], retention: RetentionPolicy.Workqueue, discard: DiscardPolicy.New, max_msgs: 100_000 });
  await jsm.consumers.add('BENCH_JS', { durable_name: 'bench', ack_policy: AckPolicy.Explicit, max_ack_pending: 1000 });
  const consumer = await jetstream(nc).consumers.get('BENCH_JS', 'bench');
  const messages = await consumer.consume({ max_messages: 256 });
  void (async () => {
    for await (const m of messages) {
      const reply = m.headers?.get('Bench-Reply');
      if (reply) nc.publish(reply, m.data);
      m.ack();
    }
  })();
}
await nc.flush();
process.stdout.write('ready\n');
const stop = async () => {
  await nc.drain().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
