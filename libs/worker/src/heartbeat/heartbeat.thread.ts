// The heartbeat runs on its own thread with its own NATS connection, so a task that blocks the main event loop
// (a CPU-bound handler, a sync loop) cannot starve the beat and make a busy worker look dead (moleculer #891).
// The main thread shares the inflight count through a SharedArrayBuffer; this thread only reads it. It also sends
// the in-progress acks of the messages the worker holds, for the same reason.
import { parentPort, workerData } from 'node:worker_threads';
import { connect } from '@nats-io/transport-node';
import { natsAuthOf } from '@taskmesh/nats';
import { NotifyMessage, Subjects } from '@taskmesh/protocol';
import type { HeartbeatSettings } from './heartbeat.js';
import { SharedSubjects } from './shared-subjects.js';

const settings = workerData as HeartbeatSettings;
const load = new Int32Array(settings.shared);
const subjects = new Subjects(settings.prefix);
let seq = 0;
/** What the beat offers: the tasks, until the worker withdraws them (it is draining). */
let tasks = settings.tasks;

const nc = await connect({
  servers: settings.servers.split(','),
  name: `${settings.worker}-heartbeat`,
  ...natsAuthOf(settings.auth, settings.servers),
  maxReconnectAttempts: -1,
  reconnectTimeWait: 250,
});

function notify(): Uint8Array {
  const message = NotifyMessage.create({
    worker: settings.worker,
    topic: settings.topic,
    tasks,
    capacity: settings.capacity,
    inflight: Atomics.load(load, 0),
    seq: seq++,
    sentAt: new Date().toISOString(),
  });
  return new TextEncoder().encode(JSON.stringify(message));
}

// Answer "who is there?" at once (docs/PROTOCOL.md section 4.4).
const requests = nc.subscribe(subjects.notifyRequest(), {
  callback: (_err, msg) => {
    const data = notify();
    if (msg.reply) msg.respond(data);
    else nc.publish(subjects.notify(), data);
  },
});

// Beat on a fixed grid (start + n * period), so one slow beat does not push all later ones back.
const start = performance.now();
let n = 0;
let timer: NodeJS.Timeout | undefined;
function beat(): void {
  nc.publish(subjects.notify(), notify());
  n += 1;
  const next = start + n * settings.periodMs;
  timer = setTimeout(beat, Math.max(0, next - performance.now()));
}
beat();

// In-progress acks for every message the main thread holds, from here: a handler that blocks the main event loop
// must not have its work redelivered while it runs. The main thread writes the ack subjects into shared memory
// (`table`); the few that did not fit come by message (`held`). Bounded by the messages the worker holds.
const table = new SharedSubjects(settings.held);
const held = new Set<string>();
const keepAlive = setInterval(() => {
  table.forEach((ackSubject) => nc.publish(ackSubject, '+WPI'));
  for (const ackSubject of held) nc.publish(ackSubject, '+WPI');
}, settings.keepAliveEveryMs);

type ThreadMessage = { type: 'stop' | 'withdraw' } | { type: 'held'; changes: Array<['keep' | 'forget', string]> };
parentPort?.on('message', async (message: ThreadMessage) => {
  if (message.type === 'held') {
    for (const [kind, ackSubject] of message.changes) {
      if (kind === 'keep') held.add(ackSubject);
      else held.delete(ackSubject);
    }
    return;
  }
  if (message.type === 'withdraw') {
    tasks = [];
    nc.publish(subjects.notify(), notify());
    return;
  }
  if (message.type !== 'stop') return;
  clearTimeout(timer);
  clearInterval(keepAlive);
  held.clear();
  requests.unsubscribe();
  await nc.drain().catch(() => undefined);
  parentPort?.postMessage({ type: 'stopped' });
  parentPort?.close();
});
parentPort?.postMessage({ type: 'started' });
