// The raw peers the benchmark compares taskmesh with, run as their own process (as taskmesh's worker is), started by
// scripts/benchmark.mjs through `spawnApp` (so it is stopped with the run, however the run ends). Configured by env:
//   BENCH_PEER=nats       responder on bench.nats answering with the request data (core request-reply)
//   BENCH_PEER=jetstream  pull consumer (consume()) on the work-queue stream BENCH_JS: publishes the message data to
//                         the caller's inbox named in the Bench-Reply header, then acks
//   BENCH_PEER=bullmq     a BullMQ Worker on the queue of scripts/bench-bullmq.mjs, BULLMQ_CONCURRENCY jobs at once,
//                         whose job returns its data (the bench's producer waits for it with waitUntilFinished)
//   NATS_URL              the server (nats, jetstream); NATS_USER and NATS_PASSWORD its login (the bench's admin)
//   REDIS_PORT            the redis-server on 127.0.0.1 (bullmq)
// Prints `ready` once it serves; SIGTERM / SIGINT close its connections and exit.
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, AckPolicy, RetentionPolicy, DiscardPolicy } from '@nats-io/jetstream';
import { Worker } from 'bullmq';
import { BULLMQ_CONCURRENCY, BULLMQ_QUEUE, redisConnection } from './bench-bullmq.mjs';

const mode = process.env.BENCH_PEER;
const serve = { nats: serveNats, jetstream: serveJetStream, bullmq: serveBullmq }[mode];
if (serve === undefined) {
  console.error(`bench-peer: BENCH_PEER must be "nats", "jetstream" or "bullmq", got ${JSON.stringify(mode)}`);
  process.exit(2);
}
const close = await serve();
process.stdout.write('ready\n');
const stop = async () => {
  await close().catch(() => undefined);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

async function serveNats() {
  const nc = await connect({ servers: process.env.NATS_URL, user: process.env.NATS_USER, pass: process.env.NATS_PASSWORD, noAsyncTraces: true });
  nc.subscribe('bench.nats', { callback: (_e, m) => m.respond(m.data) });
  await nc.flush();
  return () => nc.drain();
}

async function serveJetStream() {
  const nc = await connect({ servers: process.env.NATS_URL, user: process.env.NATS_USER, pass: process.env.NATS_PASSWORD, noAsyncTraces: true });
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
  await nc.flush();
  return () => nc.drain();
}

async function serveBullmq() {
  const worker = new Worker(BULLMQ_QUEUE, async (job) => job.data, {
    connection: redisConnection(Number(process.env.REDIS_PORT)),
    concurrency: BULLMQ_CONCURRENCY,
  });
  worker.on('error', (err) => console.error(`bench-peer: BullMQ worker: ${err.message}`));
  await worker.waitUntilReady();
  // close() lets the active jobs finish, then closes the worker's ioredis connections.
  return () => worker.close();
}
