import { Worker } from 'node:worker_threads';
import type { NatsAuth } from '@taskmesh/nats';
import { SharedSubjects } from './shared-subjects.js';

/** What the heartbeat thread needs to publish NOTIFY (connection settings, identity, offer). */
export interface HeartbeatSettings {
  servers: string;
  /** Who the thread connects as, the same as the worker's main connection (plain strings: it crosses threads). */
  auth: NatsAuth;
  prefix: string;
  worker: string;
  topic: string;
  tasks: string[];
  capacity: number;
  periodMs: number;
  /** How often the thread sends an in-progress ack for every message the worker holds (a third of the ack wait). */
  keepAliveEveryMs: number;
  /** Int32 slot 0: the current inflight count, written by the main thread. */
  shared: SharedArrayBuffer;
  /** The ack subjects of the held messages (a SharedSubjects table the main thread writes). */
  held: { buffer: SharedArrayBuffer; slots: number; slotBytes: number };
}

/** Room per ack subject in the shared table (`$JS.ACK.<stream>.<consumer>.<7 numbers>` is well under it). */
const ACK_SUBJECT_BYTES = 512;

/**
 * Publishes NOTIFY every period from a separate thread (see heartbeat.thread.ts), answers `mesh.notify.request`,
 * and keeps the messages the worker holds alive with in-progress acks. `setInflight` is a lock-free write the thread
 * reads at each beat.
 */
export class Heartbeat {
  private readonly load: Int32Array;
  private thread?: Worker;
  /** Ack subjects the thread keeps alive, shared with it; the slot of each. */
  private readonly held: SharedSubjects;
  private readonly slotOf = new Map<string, number>();
  /** Keep-alive changes not yet sent to the thread, in order: those that did not fit the shared table. */
  private readonly changes: Array<['keep' | 'forget', string]> = [];

  constructor(
    private readonly settings: Omit<HeartbeatSettings, 'shared' | 'held'> & { maxHeld: number },
    private readonly onError: (err: Error) => void,
  ) {
    this.load = new Int32Array(new SharedArrayBuffer(4));
    this.held = new SharedSubjects({ slots: settings.maxHeld, slotBytes: ACK_SUBJECT_BYTES });
  }

  /** Starts the thread; resolves once it has connected and sent its first NOTIFY. */
  async start(): Promise<void> {
    const thread = new Worker(new URL('./heartbeat.thread.js', import.meta.url), {
      workerData: { ...this.settings, shared: this.load.buffer, held: { buffer: this.held.buffer, slots: this.held.slots, slotBytes: this.held.slotBytes } },
    });
    this.thread = thread;
    await new Promise<void>((resolve, reject) => {
      thread.once('error', reject);
      thread.once('exit', (code) => reject(new Error(`heartbeat thread exited with ${code} before it started`)));
      thread.on('message', (m: { type: string }) => m.type === 'started' && resolve());
    });
    thread.removeAllListeners('exit');
    thread.removeAllListeners('error');
    // A failing beat thread must be loud (the worker would soon be expired), never an unhandled crash.
    thread.on('error', this.onError);
    thread.on('exit', (code) => this.thread === thread && this.onError(new Error(`heartbeat thread exited with ${code}`)));
  }

  /**
   * From now until `forget`, the thread sends `+WPI` on this ack subject every keepAliveEveryMs: a task that blocks
   * the main event loop keeps its message (JetStream redelivers only the work of a process that is gone or frozen).
   */
  keepAlive(ackSubject: string): void {
    if (!this.thread) return;
    // Written where the thread reads it, at once: no message, and nothing a blocked event loop could delay.
    const slot = this.held.add(ackSubject);
    if (slot !== undefined) this.slotOf.set(ackSubject, slot);
    else this.change('keep', ackSubject);
  }

  /** Stops the in-progress acks of a message; call it before the message is settled. */
  forget(ackSubject: string): void {
    const slot = this.slotOf.get(ackSubject);
    if (slot === undefined) return this.change('forget', ackSubject);
    this.slotOf.delete(ackSubject);
    this.held.remove(slot);
  }

  /**
   * What did not fit the shared table (it is sized for every message a worker can hold, so this is a safety net)
   * goes to the thread in one message per turn of the event loop (a microtask, so before any handler of a message
   * held now can run and block the loop).
   */
  private change(kind: 'keep' | 'forget', ackSubject: string): void {
    if (!this.thread) return;
    this.changes.push([kind, ackSubject]);
    if (this.changes.length > 1) return;
    queueMicrotask(() => {
      const changes = this.changes.splice(0);
      this.thread?.postMessage({ type: 'held', changes });
    });
  }

  setInflight(n: number): void {
    Atomics.store(this.load, 0, n);
  }

  /**
   * From now on the beat offers no task (at once, then every period): a draining worker is still alive but takes
   * nothing new, so the other workers take its key shards over now instead of after its expiry.
   */
  withdraw(): void {
    this.thread?.postMessage({ type: 'withdraw' });
  }

  /** Stops beating and closes the thread's connection. */
  async stop(): Promise<void> {
    const thread = this.thread;
    if (!thread) return;
    this.thread = undefined;
    const stopped = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    thread.postMessage({ type: 'stop' });
    const forced = setTimeout(() => void thread.terminate(), 3000);
    await stopped;
    clearTimeout(forced);
  }
}
