import type { Failure, JsonValue } from '@taskmesh/protocol';

/** What every stimulus carries: an id for the story, and the monotonic time (ms) it happened at. */
interface Base {
  stimulusId: string;
  at: number;
}

/** The worker is up: issue the first pulls. */
export interface StartStimulus extends Base {
  type: 'start';
}
/** A pulled JetStream message arrived; `ref` is the dispatcher's handle for it. */
export interface WorkReceived extends Base {
  type: 'work-received';
  pullId: number;
  ref: number;
  data: Uint8Array;
  /** JetStream delivery count: the attempt number. */
  deliveryCount: number;
  /** The Mesh-Reply-To header: where the waiting router listens. */
  replyTo?: string;
  /** Wall-clock epoch ms, only for the request's deadline (a wall-clock instant set by the router). */
  wallNow: number;
  /**
   * A redelivery of an invocation that started before (its record or events say so: an earlier attempt's worker
   * was lost, or it failed retryably). Such work is carried to its outcome: its deadline bounded only the first start.
   */
  startedBefore?: boolean;
  /**
   * On work put back by a redrive (the Mesh-Redriven header): the invocation's attempts before it. The attempt is
   * this plus the delivery count, and the work runs whatever its deadline.
   */
  redrivenAfter?: number;
}
/**
 * A direct request arrived on this worker's own topic (no JetStream: nothing to ack, nothing redelivers it). The
 * worker answers on `replyTo`: RUNNING when it starts it (the pickup report), then the final RESPONSE, or at once a
 * refusal (OVERLOADED, TIMEOUT, ...) when it will not start it.
 */
export interface DirectReceived extends Base {
  type: 'direct-received';
  ref: number;
  data: Uint8Array;
  /** Where the router that placed it listens (the request's NATS reply subject). */
  replyTo?: string;
  /** The router's attempt number (Mesh-Attempt): it rejects reports of any other attempt. */
  attempt: number;
  /** Wall-clock epoch ms, only for the request's deadline. */
  wallNow: number;
}
/** A pull is over (server status, expiry, or closed): its unused reservations are free. */
export interface PullEnded extends Base {
  type: 'pull-ended';
  pullId: number;
  reason: string;
}
/** Time passed (the one timer fired). */
export interface Tick extends Base {
  type: 'tick';
}
/** A running task reported progress. */
export interface TaskProgress extends Base {
  type: 'task-progress';
  ref: number;
  details: JsonValue;
}
/** A task handler returned or threw. */
export interface TaskFinished extends Base {
  type: 'task-finished';
  ref: number;
  /**
   * What the handler returned (made JSON by the core: undefined becomes null, a Date its ISO string; a value that
   * cannot be JSON fails the task) or the failure it threw.
   */
  outcome: { ok: true; result: unknown } | { ok: false; failure: Failure };
  /** A random number in [0, 1) for the retry backoff's jitter (the core has no randomness of its own). */
  jitter?: number;
}
/** The final RESPONSE is in the events stream. */
export interface OutcomeStored extends Base {
  type: 'outcome-stored';
  ref: number;
}
/** The final RESPONSE could not be recorded. */
export interface OutcomeStoreFailed extends Base {
  type: 'outcome-store-failed';
  ref: number;
  error: string;
}
/** Someone asked to cancel this invocation. */
export interface CancelRequested extends Base {
  type: 'cancel-requested';
  invocationId: string;
}
/** Stop taking work; finish what runs. */
export interface DrainRequested extends Base {
  type: 'drain-requested';
}
/** Draining took too long: release what still runs to other workers. */
export interface DrainDeadlinePassed extends Base {
  type: 'drain-deadline-passed';
}

/** The running claim asked for by a `claim` instruction was taken, or is held by another invocation. */
export interface ClaimResult extends Base {
  type: 'claim-result';
  ref: number;
  key: string;
  invocationId: string;
  claimed: boolean;
  /** Who holds it, when not claimed (for the story). */
  holder?: string;
}
/** A running task called another task (`ctx.call`) and now waits for it. */
export interface ChildCallStarted extends Base {
  type: 'child-call-started';
  ref: number;
  /** The task called: its work is pulled first while someone here waits for it. */
  task: string;
}
/** A child call of a running task has its outcome (the task waits for `resume` to see it). */
export interface ChildCallEnded extends Base {
  type: 'child-call-ended';
  ref: number;
  task: string;
}

/** The key shards this worker owns changed (the live workers it hears changed): pull these from now on. */
export interface ShardsOwned extends Base {
  type: 'shards-owned';
  shards: number[];
}

/** Everything that can happen to a worker. */
export type Stimulus =
  | StartStimulus | WorkReceived | DirectReceived | PullEnded | Tick | TaskProgress | TaskFinished | OutcomeStored | OutcomeStoreFailed
  | CancelRequested | DrainRequested | DrainDeadlinePassed | ClaimResult | ChildCallStarted | ChildCallEnded | ShardsOwned;
