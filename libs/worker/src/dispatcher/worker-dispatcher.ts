import { FailureCode, MeshError, failureOf, type JsonValue, type ResponseMessage } from '#protocol';
import type { Execute, Instruction, Stimulus, WorkerState } from '#worker-core';

/** A stimulus as the dispatcher's callers give it: the dispatcher stamps the id and the time. */
export type StimulusInput = Stimulus extends infer S ? (S extends Stimulus ? Omit<S, 'stimulusId' | 'at'> : never) : never;

/** The I/O the dispatcher performs for the core; NATS in production, fakes in unit tests. */
export interface WorkerPorts {
  /** Monotonic milliseconds (performance.now in production). */
  now(): number;
  pull(pullId: number, task: string, batch: number, expiresMs: number): void;
  ack(ref: number): void;
  nak(ref: number, delayMs: number): void;
  inProgress(ref: number): void;
  term(ref: number, reason: string): void;
  /** Copies the held message to the dead-letter stream with the reason (before it is settled). */
  deadLetter(ref: number, task: string, reason: string): void;
  publishEvent(invocationId: string, response: ResponseMessage): void;
  /** Records the final RESPONSE durably; resolves once the stream acknowledged it. */
  storeOutcome(invocationId: string, response: ResponseMessage): Promise<void>;
  reply(replyTo: string, response: ResponseMessage): void;
  /** Runs the task handler (args validation included); resolves with its result, rejects with what it threw. */
  runTask(exec: Execute, ctx: { signal: AbortSignal; progress(details: JsonValue): void }): Promise<unknown>;
  countInvalid(kind: string): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
  /** The core finished draining. */
  drained(): void;
  /** The number of held messages changed (heartbeat, metrics). */
  load(inflight: number): void;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

const ABORT_CODE = { timeout: FailureCode.TIMEOUT, cancelled: FailureCode.CANCELLED, released: FailureCode.CANCELLED } as const;

/**
 * The thin async shell around WorkerState (dask BaseWorker): performs each instruction, and feeds outcomes back
 * as stimuli (never writes state itself). Tracks its async work (handlers, stores) and its one timer, and stops
 * them on close().
 */
export class WorkerDispatcher {
  private seq = 0;
  private timer: unknown;
  private closed = false;
  private readonly aborts = new Map<number, AbortController>();
  private readonly work = new Set<Promise<unknown>>();

  constructor(
    private readonly core: WorkerState,
    private readonly ports: WorkerPorts,
  ) {}

  /** Feeds one stimulus to the core and performs what it asks. */
  feed(input: StimulusInput): void {
    if (this.closed) return;
    const stimulus = { ...input, stimulusId: `s${++this.seq}`, at: this.ports.now() } as Stimulus;
    const before = this.core.inflight;
    for (const ins of this.core.handle(stimulus)) this.perform(ins);
    if (this.core.inflight !== before) this.ports.load(this.core.inflight);
  }

  /** Stops the timer, aborts running handlers, and waits (at most `graceMs`) for in-flight async work. */
  async close(graceMs = 1000): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.ports.clearTimer(this.timer);
    for (const ac of this.aborts.values()) ac.abort(new MeshError(FailureCode.CANCELLED, 'worker closed'));
    let deadline: unknown;
    await Promise.race([
      Promise.allSettled([...this.work]),
      new Promise<void>((resolve) => (deadline = this.ports.setTimer(resolve, graceMs))),
    ]);
    this.ports.clearTimer(deadline);
  }

  private perform(ins: Instruction): void {
    switch (ins.type) {
      case 'pull':
        return this.ports.pull(ins.pullId, ins.task, ins.batch, ins.expiresMs);
      case 'execute':
        return this.execute(ins);
      case 'publish-event':
        return this.ports.publishEvent(ins.invocationId, ins.response);
      case 'store-outcome':
        this.track(this.ports.storeOutcome(ins.invocationId, ins.response).then(
          () => this.feed({ type: 'outcome-stored', ref: ins.ref }),
          (err: unknown) => this.feed({ type: 'outcome-store-failed', ref: ins.ref, error: (err as Error)?.message ?? String(err) }),
        ));
        return;
      case 'reply':
        return this.ports.reply(ins.replyTo, ins.response);
      case 'ack':
        return this.ports.ack(ins.ref);
      case 'nak':
        return this.ports.nak(ins.ref, ins.delayMs);
      case 'in-progress':
        return this.ports.inProgress(ins.ref);
      case 'term':
        return this.ports.term(ins.ref, ins.reason);
      case 'dead-letter':
        return this.ports.deadLetter(ins.ref, ins.task, ins.reason);
      case 'abort':
        this.aborts.get(ins.ref)?.abort(new MeshError(ABORT_CODE[ins.reason], ins.message));
        this.aborts.delete(ins.ref);
        return;
      case 'schedule-tick':
        if (this.timer !== undefined) this.ports.clearTimer(this.timer);
        this.timer = ins.at === null ? undefined : this.ports.setTimer(() => {
          this.timer = undefined;
          this.feed({ type: 'tick' });
        }, Math.max(0, ins.at - this.ports.now()));
        return;
      case 'drained':
        return this.ports.drained();
      case 'count-invalid':
        return this.ports.countInvalid(ins.kind);
      case 'log':
        return this.ports.log(ins.level, ins.message, { ...ins.fields, stimulusId: ins.stimulusId });
      default: {
        const never: never = ins;
        throw new Error(`unhandled instruction ${JSON.stringify(never)}`);
      }
    }
  }

  private execute(ins: Execute): void {
    const ac = new AbortController();
    this.aborts.set(ins.ref, ac);
    let run: Promise<unknown>;
    try {
      run = this.ports.runTask(ins, { signal: ac.signal, progress: (details) => this.feed({ type: 'task-progress', ref: ins.ref, details }) });
    } catch (err) {
      // A handler that throws synchronously is a failed task, never a crashed worker.
      run = Promise.reject(err);
    }
    this.track(run.then(
      (result) => this.finish(ins.ref, { ok: true, result: (result === undefined ? null : result) as JsonValue }),
      (err: unknown) => this.finish(ins.ref, { ok: false, failure: failureOf(err, FailureCode.TASK_FAILED) }),
    ));
  }

  private finish(ref: number, outcome: Extract<Stimulus, { type: 'task-finished' }>['outcome']): void {
    this.aborts.delete(ref);
    this.feed({ type: 'task-finished', ref, outcome, jitter: Math.random() });
  }

  private track(p: Promise<unknown>): void {
    this.work.add(p);
    void p.finally(() => this.work.delete(p));
  }
}
