import { FailureCode, transition, type RequestState, type ResponseState } from '@taskmesh/protocol';

/** A direct call this process (a router, or a client in smart mode) placed and has not answered yet. */
export interface DirectCall {
  readonly id: string;
  readonly task: string;
  readonly key?: string;
  /** The task may run again after its worker was lost mid-run. */
  readonly idempotent: boolean;
  /** WAITING (not placed, or placed back), PENDING (sent to `worker`), RUNNING (the worker reported it started). */
  state: RequestState;
  /** The worker it was last sent to. */
  worker?: string;
  /** Times it was sent; reports of any other attempt are rejected. */
  attempt: number;
  /** Workers it was sent to (not sent there again). */
  readonly tried: Set<string>;
}

/** What a worker's report on the reply subject says. */
export interface DirectReport {
  state: ResponseState;
  attempt?: number;
  worker?: string;
  code?: string;
}

/** What to do with a report. */
export type Verdict =
  /** The worker started it (PENDING -> RUNNING). */
  | { kind: 'running' }
  /** Its outcome: answer the caller with the report as it is. */
  | { kind: 'final' }
  /** The worker refused it before starting (full, stopping, does not host it): place it on another worker. */
  | { kind: 'refused' }
  /** The worker gave up on it mid-run (it was stopping) and the task is idempotent: place it on another worker. */
  | { kind: 'lost' }
  /** A report of a superseded attempt or of a call already answered (a frozen worker woke up): count and drop it. */
  | { kind: 'rejected'; why: string }
  /** Not a direct call of this process (a durable reply, or one answered too long ago to remember). */
  | { kind: 'unknown' };

/** Refusals a worker sends before it starts a request: nothing ran, so another worker may take it. */
const REFUSALS: ReadonlySet<string> = new Set([FailureCode.OVERLOADED, FailureCode.UNKNOWN_TASK]);

/**
 * The book of direct calls of a router or a smart client (taskflow's executor side): each moves WAITING -> PENDING -> RUNNING -> final
 * along the request transition table of libs/protocol, fenced by attempt and worker so a late report from a worker
 * that was given up on is rejected. Pure: no clock, no I/O; the DirectCaller shell keeps the timers and sends.
 *
 * ```mermaid
 * stateDiagram-v2
 *   [*] --> WAITING: accepted
 *   WAITING --> PENDING: placed (sent to a worker's topic)
 *   PENDING --> RUNNING: the worker reported it started
 *   PENDING --> WAITING: refused before it started (no key), nobody listening, or its worker expired (idempotent)
 *   RUNNING --> WAITING: its worker expired or gave it up while stopping, and the task is idempotent
 *   PENDING --> [*]: outcome, TIMEOUT (no pickup by the deadline), WORKER_LOST
 *   RUNNING --> [*]: outcome, WORKER_LOST (task not idempotent), TIMEOUT (no outcome within timeoutMs of its start)
 * ```
 */
export class DirectCalls {
  private readonly calls = new Map<string, DirectCall>();
  /** Ids answered recently, oldest first (bounded): their late reports are rejected rather than unknown. */
  private readonly answered = new Set<string>();

  constructor(private readonly opts: { maxAttempts: number; remember: number }) {}

  /** Calls not answered yet. */
  get size(): number {
    return this.calls.size;
  }

  get(id: string): DirectCall | undefined {
    return this.calls.get(id);
  }

  /** A new call, WAITING to be placed. */
  open(id: string, task: string, key: string | undefined, idempotent: boolean): DirectCall {
    const call: DirectCall = { id, task, idempotent, state: 'WAITING', attempt: 0, tried: new Set(), ...(key === undefined ? {} : { key }) };
    this.calls.set(id, call);
    return call;
  }

  /** The call was sent to `worker`: PENDING, as a new attempt (returned). */
  placed(id: string, worker: string): number {
    const call = this.mustGet(id);
    call.state = transition(call.state, 'PENDING');
    call.worker = worker;
    call.attempt += 1;
    call.tried.add(worker);
    return call.attempt;
  }

  /**
   * Nobody listens on the topic it was sent to (nats-server answered "no responders": the worker stopped or died
   * and is not expired yet): nothing ran, so a PENDING call is placed again. Returns whether it was.
   */
  unheard(id: string): boolean {
    const call = this.calls.get(id);
    if (call?.state !== 'PENDING') return false;
    call.state = transition(call.state, 'WAITING');
    return true;
  }

  /** Whether the call may be sent once more (after a refusal or the loss of its worker). */
  canRetry(id: string): boolean {
    const call = this.calls.get(id);
    return call !== undefined && call.attempt < this.opts.maxAttempts;
  }

  /** Judges a report that arrived on the call's reply subject. */
  report(id: string, r: DirectReport): Verdict {
    const call = this.calls.get(id);
    if (call === undefined) return this.answered.has(id) ? { kind: 'rejected', why: 'the call was already answered' } : { kind: 'unknown' };
    if (call.state === 'WAITING' || r.attempt !== call.attempt || r.worker !== call.worker) {
      return { kind: 'rejected', why: `from attempt ${r.attempt ?? '?'} on ${r.worker ?? '?'}; the call is at attempt ${call.attempt} on ${call.worker ?? 'no worker'}` };
    }
    switch (r.state) {
      case 'RUNNING':
        call.state = transition(call.state, 'RUNNING');
        return { kind: 'running' };
      case 'SUCCESS':
        return { kind: 'final' };
      case 'FAILURE':
        if (call.state === 'PENDING' && r.code !== undefined && REFUSALS.has(r.code) && call.key === undefined) {
          // Reports on one subject keep their order, so a FAILURE with no RUNNING before it never started. A keyed
          // call is not moved: its key's next owner could run it beside the key's other calls on its owner.
          call.state = transition(call.state, 'WAITING');
          return { kind: 'refused' };
        }
        if (r.code === FailureCode.WORKER_LOST && call.idempotent && call.attempt < this.opts.maxAttempts) {
          call.state = transition(call.state, 'WAITING');
          return { kind: 'lost' };
        }
        return { kind: 'final' };
      default:
        return { kind: 'rejected', why: `unexpected state ${r.state}` };
    }
  }

  /**
   * `worker` expired: what becomes of each call placed on it. An idempotent one with attempts left goes back to
   * WAITING to be placed again (`again`); any other is lost (`lost`: answer WORKER_LOST). A call that was only
   * PENDING may have started, since its RUNNING report could have died with the worker, so it is treated the same.
   */
  workerLost(worker: string): { again: DirectCall[]; lost: DirectCall[] } {
    const again: DirectCall[] = [];
    const lost: DirectCall[] = [];
    for (const call of this.calls.values()) {
      if (call.worker !== worker || call.state === 'WAITING') continue;
      if (call.idempotent && call.attempt < this.opts.maxAttempts) {
        call.state = transition(call.state, 'WAITING');
        again.push(call);
      } else {
        lost.push(call);
      }
    }
    return { again, lost };
  }

  /** The call is answered (its outcome, TIMEOUT, WORKER_LOST, ...): forget it, but remember its id for a while. */
  close(id: string): void {
    if (!this.calls.delete(id)) return;
    this.answered.add(id);
    if (this.answered.size > this.opts.remember) this.answered.delete(this.answered.values().next().value as string);
  }

  private mustGet(id: string): DirectCall {
    const call = this.calls.get(id);
    if (call === undefined) throw new Error(`no direct call ${id}`);
    return call;
  }
}
