import { createHash } from 'node:crypto';
import {
  CycleDetectedError, DEFAULT_TIMEOUT_MS, FailureCode, MeshError, argsDigest, failureOf, keyShard, type CallLink, type JsonValue, type ResponseMessage,
} from '@taskmesh/protocol';
import type { Claim, Execute, Instruction, Stimulus, StoreOutcome, TaskFinished, WorkerState } from '@taskmesh/worker-core';
import { RunAbort } from './run-abort.js';

/** A stimulus as the dispatcher's callers give it: the dispatcher stamps the id and the time. */
export type StimulusInput = Stimulus extends infer S ? (S extends Stimulus ? Omit<S, 'stimulusId' | 'at'> : never) : never;

/** The I/O the dispatcher performs for the core; NATS in production, fakes in unit tests. */
export interface WorkerPorts {
  /** Monotonic milliseconds (performance.now in production). */
  now(): number;
  pull(pullId: number, task: string, batch: number, expiresMs: number): void;
  /** Asks key shard `shard`'s consumer for one message. */
  pullShard(pullId: number, shard: number, expiresMs: number): void;
  ack(ref: number): void;
  nak(ref: number, delayMs: number): void;
  inProgress(ref: number): void;
  term(ref: number, reason: string): void;
  /** Copies the held message to the dead-letter stream with the reason (before it is settled). */
  deadLetter(ref: number, task: string, reason: string): void;
  /** Publishes an event about held message `ref` on the invocation's events subject. */
  publishEvent(invocationId: string, response: ResponseMessage, ref: number): void;
  /** Records the final RESPONSE of held message `ref` durably; resolves once the stream acknowledged it. */
  storeOutcome(invocationId: string, response: ResponseMessage, ref: number): Promise<void>;
  reply(replyTo: string, response: ResponseMessage): void;
  /** Runs the task handler (args validation included); resolves with its result, rejects with what it threw. */
  runTask(exec: Execute, ctx: TaskRuntime): Promise<unknown>;
  /**
   * Claims a running-concurrency key for an attempt: true when it now holds it (a stale holder, one whose
   * invocation ended or an earlier attempt of the same one, is taken over); false when another invocation runs.
   */
  claim(key: string, invocationId: string, attempt: number): Promise<boolean>;
  /** Releases a running-concurrency key if the invocation still holds it. */
  releaseClaim(key: string, invocationId: string): Promise<void>;
  /** Calls a task through the router (`mesh.call.<task>`) as a child of a running invocation; resolves its RESPONSE. */
  callTask(task: string, request: ChildCallRequest, timeoutMs: number, parentRef: number): Promise<ResponseMessage>;
  /** Asks the orchestrator to cancel an invocation (a child whose parent gave up on it). Fire and forget. */
  cancel(invocationId: string): void;
  countInvalid(kind: string): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown>): void;
  /** The core finished draining. */
  drained(): void;
  /** The number of held messages changed (heartbeat, metrics). */
  load(inflight: number): void;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/** What a running handler gets from the dispatcher, besides its Execute. */
export interface TaskRuntime {
  /** Made on first read (RunAbort): read it only when the handler asks for it. */
  readonly signal: AbortSignal;
  progress(details: JsonValue): void;
  /** Calls another task as a child of this invocation (see ChildCalls in the worker guide). */
  call(task: string, args: unknown, opts?: ChildCallOptions): Promise<unknown>;
}

/** Options of a child call. */
export interface ChildCallOptions {
  /** The child's invocation id; default: derived from the parent's id and the call's order, so a re-run parent reuses its children. */
  id?: string;
  /** The child's deadline (default DEFAULT_TIMEOUT_MS). */
  timeoutMs?: number;
  key?: string;
}

/** The body of a child call, as sent to `mesh.call.<task>`. */
export interface ChildCallRequest {
  args: unknown;
  id: string;
  timeoutMs: number;
  key?: string;
  chain: CallLink[];
}

/** Grace on top of a child's own deadline for its answer to travel back. */
const CHILD_REPLY_GRACE_MS = 5_000;
/** Times a child call is asked (the same id) when no answer comes; then the parent gets the error. */
const MAX_CHILD_ASKS = 4;
/** Pause between two asks (a router that died is restarting, or another replica takes over). */
const CHILD_ASK_PAUSE_MS = 250;

const ABORT_CODE = { timeout: FailureCode.TIMEOUT, cancelled: FailureCode.CANCELLED, released: FailureCode.CANCELLED } as const;

/** What close() waits for in-flight work by default before it gives up on it. */
export const DEFAULT_CLOSE_GRACE_MS = 1000;

/** `open`: normal work; `closing`: releasing work, letting stores settle; `closed`: deaf and inert. */
type Phase = 'open' | 'closing' | 'closed';

/**
 * The thin async shell around WorkerState (dask BaseWorker): performs each instruction, and feeds outcomes back
 * as stimuli (never writes state itself). Tracks its async work (handlers, stores) and its one timer, and stops
 * them on close().
 */
export class WorkerDispatcher {
  private seq = 0;
  private timer: unknown;
  /** When `timer` fires, and when the core last asked for a tick (ports.now() time). */
  private timerAt = 0;
  private wantedAt: number | null = null;
  private phase: Phase = 'open';
  private closing?: Promise<void>;
  private readonly aborts = new Map<number, RunAbort>();
  /** Child-call outcomes waiting for the core's `resume`, by the parent's ref. */
  private readonly resumes = new Map<number, Array<() => void>>();
  private readonly work = new Set<Promise<unknown>>();
  /** Stimuli waiting for the core: a port may call back synchronously while an instruction is performed. */
  private readonly queue: Stimulus[] = [];
  private handling = false;

  constructor(
    private readonly core: WorkerState,
    private readonly ports: WorkerPorts,
    /** MESH_KEY_SHARDS: to refuse at once a child call that would wait behind its own parent's key shard. */
    private readonly keyShards?: number,
  ) {}

  /** Feeds one stimulus to the core and performs what it asks. Never throws; ignored once closed. */
  feed(input: StimulusInput): void {
    if (this.phase === 'closed') return;
    // Stamped now, when it happened, even if the core sees it after the stimuli queued before it. Stamped in place:
    // every caller passes a fresh object and keeps no hold of it, so a copy per stimulus would only be garbage.
    const s = input as Stimulus;
    s.stimulusId = `s${++this.seq}`;
    s.at = this.ports.now();
    this.queue.push(s);
    // One handle() at a time, in order: a nested feed (a port that delivers synchronously, a handler reporting
    // progress before it returns) would otherwise perform its instructions between those of the outer stimulus,
    // and an outer schedule-tick performed last would replace the timer the nested one asked for.
    if (this.handling) return;
    this.handling = true;
    try {
      for (let s = this.queue.shift(); s; s = this.queue.shift()) {
        const before = this.core.inflight;
        for (const ins of this.core.handle(s)) this.perform(ins);
        if (this.core.inflight !== before) this.reportLoad();
      }
    } finally {
      this.handling = false;
    }
  }

  /**
   * Releases what still runs through the core (abort + nak 0, so other workers start it now), lets outcomes being
   * recorded settle, and waits at most `graceMs` for in-flight async work; then ignores everything.
   */
  close(graceMs = DEFAULT_CLOSE_GRACE_MS): Promise<void> {
    this.closing ??= this.shutdown(graceMs);
    return this.closing;
  }

  private async shutdown(graceMs: number): Promise<void> {
    if (!this.core.draining) this.feed({ type: 'drain-requested' });
    this.feed({ type: 'drain-deadline-passed' });
    this.phase = 'closing';
    // Backstop: a handler the core did not release (there should be none) still sees its signal.
    for (const run of this.aborts.values()) run.abort(new MeshError(FailureCode.CANCELLED, 'worker closed'));
    let grace: unknown;
    await Promise.race([
      Promise.allSettled([...this.work]),
      new Promise<void>((resolve) => (grace = this.ports.setTimer(resolve, graceMs))),
    ]);
    this.ports.clearTimer(grace);
    this.phase = 'closed';
    this.stopTimer();
  }

  private perform(ins: Instruction): void {
    // A port that throws (a closed connection, a full buffer) costs that one action, never the worker.
    try {
      this.act(ins);
    } catch (err) {
      this.reportPortFailure(ins.type, err);
    }
  }

  /** Performs one instruction through its port (perform contains what it throws). */
  private act(ins: Instruction): void {
    switch (ins.type) {
      case 'pull':
        return this.ports.pull(ins.pullId, ins.task, ins.batch, ins.expiresMs);
      case 'pull-shard':
        return this.ports.pullShard(ins.pullId, ins.shard, ins.expiresMs);
      case 'execute':
        return this.execute(ins);
      case 'publish-event':
        return this.ports.publishEvent(ins.invocationId, ins.response, ins.ref);
      case 'store-outcome':
        return this.store(ins);
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
        return this.schedule(ins.at);
      case 'drained':
        return this.ports.drained();
      case 'count-invalid':
        return this.ports.countInvalid(ins.kind);
      case 'log':
        return this.ports.log(ins.level, ins.message, { ...ins.fields, stimulusId: ins.stimulusId });
      case 'claim':
        return this.claim(ins);
      case 'release-claim':
        return this.track(this.ports.releaseClaim(ins.key, ins.invocationId).catch((err: unknown) => {
          this.ports.log('warn', 'could not release a running claim (the next claimant finds it stale)', { key: ins.key, invocationId: ins.invocationId, err: String(err) });
        }));
      case 'resume': {
        const waiting = this.resumes.get(ins.ref) ?? [];
        this.resumes.delete(ins.ref);
        for (const go of waiting) go();
        return;
      }
      default: {
        const _never: never = ins;
        throw new Error(`unhandled instruction ${JSON.stringify(_never)}`);
      }
    }
  }

  /** The one timer: replaced on every schedule-tick; when it fires, the core gets a Tick. */
  /**
   * The core wants a tick at `at` (null: none). A timer that fires earlier is kept and, when it fires, re-armed for
   * the time then wanted: the next tick moves with every message taken and settled, so replacing the timer each time
   * would cost a timer per stimulus.
   */
  private schedule(at: number | null): void {
    if (this.phase === 'closed') return this.stopTimer();
    this.wantedAt = at;
    if (at === null || (this.timer !== undefined && this.timerAt <= at)) return;
    this.arm(at);
  }

  private arm(at: number): void {
    this.stopTimer();
    this.timerAt = at;
    this.timer = this.ports.setTimer(() => {
      this.timer = undefined;
      const wanted = this.wantedAt;
      if (wanted === null || this.phase === 'closed') return;
      if (wanted > this.ports.now()) return this.arm(wanted);
      this.feed({ type: 'tick' });
    }, Math.max(0, at - this.ports.now()));
  }

  private stopTimer(): void {
    if (this.timer !== undefined) this.ports.clearTimer(this.timer);
    this.timer = undefined;
  }

  private store(ins: StoreOutcome): void {
    let stored: Promise<void>;
    try {
      stored = Promise.resolve(this.ports.storeOutcome(ins.invocationId, ins.response, ins.ref));
    } catch (err) {
      stored = Promise.reject(err);
    }
    this.track(stored.then(
      () => this.feed({ type: 'outcome-stored', ref: ins.ref }),
      (err: unknown) => this.feed({ type: 'outcome-store-failed', ref: ins.ref, error: err instanceof Error ? err.message : String(err) }),
    ));
  }

  private claim(ins: Claim): void {
    let claimed: Promise<boolean>;
    try {
      claimed = Promise.resolve(this.ports.claim(ins.key, ins.invocationId, ins.attempt));
    } catch (err) {
      claimed = Promise.reject(err);
    }
    this.track(claimed.then(
      (ok) => this.feed({ type: 'claim-result', ref: ins.ref, key: ins.key, invocationId: ins.invocationId, claimed: ok }),
      (err: unknown) => {
        // Asked again after the usual wait: a claim that cannot be checked is treated as held.
        this.ports.log('warn', 'could not claim a running key; will ask again', { key: ins.key, invocationId: ins.invocationId, err: String(err) });
        this.feed({ type: 'claim-result', ref: ins.ref, key: ins.key, invocationId: ins.invocationId, claimed: false });
      },
    ));
  }

  private execute(ins: Execute): void {
    const abort = new RunAbort();
    this.aborts.set(ins.ref, abort);
    // Progress after the core has given up on the task (timeout, cancel, release) would only be noise.
    const progress = (details: JsonValue): void => {
      if (!abort.aborted) this.feed({ type: 'task-progress', ref: ins.ref, details });
    };
    let calls = 0;
    // This invocation's link in its children's chain, made at its first child call (a digest hashes the arguments).
    let self: CallLink | undefined;
    const call = (task: string, args: unknown, opts: ChildCallOptions = {}): Promise<unknown> => {
      self ??= { id: ins.invocationId, task: ins.task, digest: argsDigest(ins.args) };
      return this.childCall(ins, abort.signal, { task, args, opts, chain: [...(ins.chain ?? []), self], seq: calls++ });
    };
    let run: Promise<unknown>;
    try {
      run = Promise.resolve(this.ports.runTask(ins, { get signal() { return abort.signal; }, progress, call }));
    } catch (err) {
      // A handler that throws synchronously is a failed task, never a crashed worker.
      run = Promise.reject(err);
    }
    this.track(run.then(
      (result) => this.finish(ins.ref, { ok: true, result }),
      (err: unknown) => this.finish(ins.ref, { ok: false, failure: failureOf(err, FailureCode.TASK_FAILED) }),
    ));
  }

  /**
   * One child call: the core is told the parent waits (its slot is free meanwhile), the call goes through the
   * router, and its outcome is handed to the parent only when the core resumes it (when a slot is free again).
   * The child's id is derived from the parent's and the call's order, so a parent that runs again after its
   * worker was lost gets the same children (and their outcomes) instead of new ones.
   */
  /**
   * Asks the router for a child's outcome. No answer (its router died with the question, or the child started and
   * is being recovered after a worker's loss, past its timeoutMs) -> asks again with the same id, which is answered
   * with that invocation's outcome (docs/PROTOCOL.md section 4.10); at most MAX_CHILD_ASKS times.
   */
  private async askChild(task: string, request: ChildCallRequest, timeoutMs: number, parentRef: number, signal: AbortSignal): Promise<ResponseMessage> {
    for (let ask = 1; ; ask++) {
      try {
        return await abortable(this.ports.callTask(task, request, timeoutMs, parentRef), signal);
      } catch (err) {
        if (signal.aborted || ask >= MAX_CHILD_ASKS || !(err instanceof MeshError && err.retryable)) throw err;
      }
      await abortable(new Promise<void>((resolve) => this.ports.setTimer(resolve, CHILD_ASK_PAUSE_MS)), signal);
    }
  }

  private async childCall(
    parent: Execute,
    signal: AbortSignal,
    call: { task: string; args: unknown; opts: ChildCallOptions; chain: CallLink[]; seq: number },
  ): Promise<unknown> {
    signal.throwIfAborted();
    const key = call.opts.key;
    if (key !== undefined && parent.shard !== undefined && this.keyShards !== undefined && keyShard(key, this.keyShards) === parent.shard) {
      // Its shard gives out nothing else until the parent's message is acked: the child could only time out.
      throw new CycleDetectedError(`child call ${call.task} with key ${JSON.stringify(key)} falls in its parent's key shard ${parent.shard}: it could not start before the parent ends`, {
        details: { task: call.task, shard: parent.shard },
      });
    }
    const id = call.opts.id ?? childId(parent.invocationId, call.seq);
    const timeoutMs = call.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const request: ChildCallRequest = { args: call.args ?? null, id, timeoutMs, chain: call.chain, ...(call.opts.key === undefined ? {} : { key: call.opts.key }) };
    this.feed({ type: 'child-call-started', ref: parent.ref, task: call.task });
    let response: ResponseMessage | undefined;
    let error: unknown;
    try {
      response = await this.askChild(call.task, request, timeoutMs + CHILD_REPLY_GRACE_MS, parent.ref, signal);
    } catch (err) {
      error = err;
    }
    if (signal.aborted) {
      this.feed({ type: 'child-call-ended', ref: parent.ref, task: call.task });
      // The parent was cancelled, timed out or released: its child is no longer wanted.
      if (response === undefined || !response.isFinal) this.ports.cancel(id);
      throw signal.reason;
    }
    const resumed = new Promise<void>((resolve) => {
      const waiting = this.resumes.get(parent.ref) ?? [];
      waiting.push(resolve);
      this.resumes.set(parent.ref, waiting);
    });
    this.feed({ type: 'child-call-ended', ref: parent.ref, task: call.task });
    await abortable(resumed, signal);
    if (error !== undefined) throw error instanceof MeshError ? error : MeshError.fromFailure(failureOf(error, FailureCode.INTERNAL));
    const failure = response?.failure;
    // The child's outcome is final (its own retries are behind it), and a re-run parent would get the same one.
    if (failure) throw MeshError.fromFailure({ ...failure, retryable: false });
    return response?.result ?? null;
  }

  private finish(ref: number, outcome: TaskFinished['outcome']): void {
    this.aborts.delete(ref);
    this.resumes.delete(ref);
    this.feed({ type: 'task-finished', ref, outcome, jitter: Math.random() });
  }

  private track(p: Promise<unknown>): void {
    this.work.add(p);
    // The continuations above never reject (feed never throws), so this chain cannot leak a rejection either.
    void p.finally(() => this.work.delete(p));
  }

  private reportLoad(): void {
    try {
      this.ports.load(this.core.inflight);
    } catch (err) {
      this.reportPortFailure('load', err);
    }
  }

  /** What a port threw is logged (through a port that may itself throw) and goes no further. */
  private reportPortFailure(what: string, err: unknown): void {
    try {
      this.ports.log('error', 'worker port failed', { action: what, err: err instanceof Error ? err.message : String(err) });
    } catch {
      // Nowhere left to report it; the worker goes on.
    }
  }
}

/** The id of a parent's `seq`-th child call: stable across the parent's attempts, unique per parent. */
export function childId(parentId: string, seq: number): string {
  return `c-${createHash('sha256').update(`${parentId}/${seq}`).digest('hex').slice(0, 32)}`;
}

/** `promise`, or the signal's reason as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}
