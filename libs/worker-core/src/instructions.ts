import type { CallLink, DispatchContext, JsonValue, ResponseMessage } from '@taskmesh/protocol';

interface Base {
  /** The stimulus that caused this instruction. */
  stimulusId: string;
}

/** Ask `task`'s consumer for up to `batch` messages, for at most `expiresMs`. */
export interface Pull extends Base {
  type: 'pull';
  pullId: number;
  task: string;
  batch: number;
  expiresMs: number;
}
/** Ask key shard `shard`'s consumer for one message, for at most `expiresMs` (reserves no slot: see ShardPulls). */
export interface PullShard extends Base {
  type: 'pull-shard';
  pullId: number;
  shard: number;
  expiresMs: number;
}
/** Run the task handler (validate args, call it with a signal); report TaskFinished / TaskProgress. */
export interface Execute extends Base {
  type: 'execute';
  ref: number;
  invocationId: string;
  task: string;
  args: JsonValue;
  attempt: number;
  /**
   * Monotonic ms at which the core aborts the handler (the task's timeoutMs); absent when the task has none.
   * The request's own deadline only bounds the start, so it is not here.
   */
  deadlineAt?: number;
  key?: string;
  /** The key shard its message came from (keyed work): that shard gives out nothing else until it ends. */
  shard?: number;
  parentId?: string;
  /** Its ancestors, the caller last (child calls). */
  chain?: CallLink[];
  /** The scheduled occurrence it is, when the scheduler submitted it. */
  dispatch?: DispatchContext;
}
/** Claim the running-concurrency key for this invocation's attempt; report ClaimResult. */
export interface Claim extends Base {
  type: 'claim';
  ref: number;
  key: string;
  invocationId: string;
  attempt: number;
}
/** Release a running-concurrency key this invocation holds (fire and forget). */
export interface ReleaseClaim extends Base {
  type: 'release-claim';
  key: string;
  invocationId: string;
}
/** A task waiting for its child calls may go on: hand it their outcomes. */
export interface Resume extends Base {
  type: 'resume';
  ref: number;
}
/** Fire-and-forget publish on `mesh.events.invocation.<id>` (RUNNING, progress). */
export interface PublishEvent extends Base {
  type: 'publish-event';
  /** The held message it is about. */
  ref: number;
  invocationId: string;
  response: ResponseMessage;
}
/** Record the final RESPONSE in the events stream, await the stream's ack; report OutcomeStored / OutcomeStoreFailed. */
export interface StoreOutcome extends Base {
  type: 'store-outcome';
  ref: number;
  invocationId: string;
  response: ResponseMessage;
}
/** Answer the router waiting on `replyTo`. */
export interface Reply extends Base {
  type: 'reply';
  replyTo: string;
  response: ResponseMessage;
}
/** Settle the JetStream message: done. */
export interface Ack extends Base {
  type: 'ack';
  ref: number;
}
/** Settle the JetStream message: redeliver (after `delayMs`). */
export interface Nak extends Base {
  type: 'nak';
  ref: number;
  delayMs: number;
}
/** Tell JetStream the message is still being worked on (resets ack_wait). */
export interface InProgress extends Base {
  type: 'in-progress';
  ref: number;
}
/** Keep a copy of the message in the dead-letter stream, with the reason (before it is settled). */
export interface DeadLetter extends Base {
  type: 'dead-letter';
  ref: number;
  /** The task's name, or `invalid` for a message that is not a valid REQUEST. */
  task: string;
  reason: string;
}
/** Settle the JetStream message: never redeliver. */
export interface Term extends Base {
  type: 'term';
  ref: number;
  reason: string;
}
/** Abort the running handler's signal. */
export interface Abort extends Base {
  type: 'abort';
  ref: number;
  reason: 'timeout' | 'cancelled' | 'released';
  message: string;
}
/** Wake the core (Tick) at monotonic time `at`; `null` = no timer needed. One timer, replaced each time. */
export interface ScheduleTick extends Base {
  type: 'schedule-tick';
  at: number | null;
}
/** Draining is complete: nothing runs, no pull is outstanding. */
export interface Drained extends Base {
  type: 'drained';
}
/** Count an invalid inbound message (metrics). */
export interface CountInvalid extends Base {
  type: 'count-invalid';
  kind: 'REQUEST';
}
/** Something worth a log line. */
export interface Log extends Base {
  type: 'log';
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

/** Everything the core can ask its dispatcher to do. */
export type Instruction =
  | Pull | Execute | PublishEvent | StoreOutcome | Reply | Ack | Nak | InProgress | Term | DeadLetter | Abort | ScheduleTick | Drained
  | CountInvalid | Log | Claim | ReleaseClaim | Resume | PullShard;
