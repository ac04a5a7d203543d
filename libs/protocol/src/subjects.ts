/**
 * Every NATS subject of the mesh is built here and nowhere else. `<p>` is the prefix (`mesh` by default,
 * `MESH_PREFIX`; one or more tokens). Every `<token>` below is one subject token, checked by assertToken.
 *
 *   <p>.call.<task>                     request-reply: run a task and wait for its outcome (router, queue group)
 *   <p>.submit.<task>                   request-reply: accept a task durably, reply WAITING (router, queue group)
 *   <p>.work.<task>[.<more>]            the JetStream work queue a task's workers pull from (stream `<P>_WORK`)
 *   <p>.work.<task>.<shard>             keyed work: its key's shard (keyShard), pulled one message at a time
 *   <p>.notify                          NOTIFY heartbeats from every worker
 *   <p>.notify.request                  ask every worker to NOTIFY at once
 *   <p>.workers.list                    request-reply: the live workers (router)
 *   <p>.worker.<workerId>               a worker's own topic: direct (non-queued) requests for it
 *   <p>.reply.<routerId>.<invocationId> where a worker sends the RESPONSE of durable work placed by that router
 *   <p>.events.worker.<workerId>        joined / expired
 *   <p>.events.invocation.<id>          every state change and progress EVENT of an invocation (stream `<P>_EVENTS`)
 *   <p>.events.dispatch.<id>            dispatch lifecycle and running-state events
 *   <p>.invocations.<op>                get | wait | cancel | list | story (orchestrator)
 *   <p>.dispatches.<op>                 create | update | get | list | delete (scheduler)
 *   <p>.dlq.<task>                      dead letters: copies of work that could not be run (stream `<P>_DLQ`)
 *   <p>.deadletters.list                request-reply: the newest dead letters (orchestrator)
 *   <p>.deadletters.redrive             request-reply: put dead-lettered work back on the work queue (orchestrator)
 *   <p>.story                           request-many: every worker answers with its log of one invocation
 *
 * `*` matches one token and `>` one or more; the `...All()` builders return the wildcard subscriptions.
 */
import { InvalidSubjectTokenError } from './errors.js';
import { tokenProblem } from './validators.js';

/** The default subject prefix. */
export const DEFAULT_SUBJECT_PREFIX = 'mesh';

/** Operations served under `<p>.invocations.<op>`. */
export const InvocationOp = { Get: 'get', Wait: 'wait', Cancel: 'cancel', List: 'list', Story: 'story' } as const;
/** One of the invocation operations. */
export type InvocationOp = (typeof InvocationOp)[keyof typeof InvocationOp];

/** Operations served under `<p>.dispatches.<op>`. */
export const DispatchOp = { Create: 'create', Update: 'update', Get: 'get', List: 'list', Delete: 'delete', Upcoming: 'upcoming' } as const;
/** One of the dispatch operations. */
export type DispatchOp = (typeof DispatchOp)[keyof typeof DispatchOp];

const INVOCATION_OPS: readonly string[] = Object.values(InvocationOp);
const DISPATCH_OPS: readonly string[] = Object.values(DispatchOp);

/**
 * Returns `token` when it can be one subject token, else throws InvalidSubjectTokenError naming `what`
 * (empty, `.`, `*`, `>`, whitespace and control characters are refused).
 */
export function assertToken(token: string, what: string): string {
  const problem = tokenProblem(token);
  if (problem !== undefined) throw new InvalidSubjectTokenError(token, what, problem);
  return token;
}

function shardToken(shard: number): string {
  if (!(Number.isSafeInteger(shard) && shard >= 0)) throw new InvalidSubjectTokenError(String(shard), 'key shard', 'must be an integer >= 0');
  return String(shard);
}

/** The subject builders for one prefix. */
export class Subjects {
  /** The validated prefix, e.g. `mesh`. */
  readonly prefix: string;

  /** `prefix` is one or more valid tokens joined by dots (InvalidSubjectTokenError otherwise). */
  constructor(prefix: string = DEFAULT_SUBJECT_PREFIX) {
    if (typeof prefix !== 'string') throw new InvalidSubjectTokenError(prefix, 'subject prefix', 'must be a string');
    const tokens = prefix.split('.');
    tokens.forEach((t) => assertToken(t, 'subject prefix token'));
    this.prefix = prefix;
  }

  /** `<p>.call.<task>`: run a task, reply with its outcome. */
  call(task: string): string {
    return `${this.prefix}.call.${assertToken(task, 'task')}`;
  }

  /** `<p>.call.*`: what the router serves. */
  callAll(): string {
    return `${this.prefix}.call.*`;
  }

  /** `<p>.submit.<task>`: accept a task durably, reply WAITING. */
  submit(task: string): string {
    return `${this.prefix}.submit.${assertToken(task, 'task')}`;
  }

  /** `<p>.submit.*`: what the router serves. */
  submitAll(): string {
    return `${this.prefix}.submit.*`;
  }

  /** `<p>.work.<task>`: the work-queue subject of a task. */
  work(task: string): string {
    return `${this.prefix}.work.${assertToken(task, 'task')}`;
  }

  /**
   * `<p>.work.<task>.<shard>`: the work of an invocation with a `key`, in its key's shard (`keyShard`). A subject
   * per shard, not per task, orders it: the shard's consumer hands out one message at a time, whatever the task.
   */
  keyedWork(task: string, shard: number): string {
    return `${this.work(task)}.${shardToken(shard)}`;
  }

  /** `<p>.work.*.<shard>`: the filter of a shard's consumer (every task's keyed work in that shard). */
  keyedWorkShard(shard: number): string {
    return `${this.prefix}.work.*.${shardToken(shard)}`;
  }

  /** `<p>.work.>`: the work stream's subjects. */
  workAll(): string {
    return `${this.prefix}.work.>`;
  }

  /** `<p>.notify`: NOTIFY heartbeats. */
  notify(): string {
    return `${this.prefix}.notify`;
  }

  /** `<p>.notify.request`: ask every worker to NOTIFY now. */
  notifyRequest(): string {
    return `${this.prefix}.notify.request`;
  }

  /** `<p>.workers.list`: the live workers. */
  workersList(): string {
    return `${this.prefix}.workers.list`;
  }

  /** `<p>.events.worker.<id>`: joined / expired events of one worker. */
  workerEvent(workerId: string): string {
    return `${this.prefix}.events.worker.${assertToken(workerId, 'worker id')}`;
  }

  /** `<p>.events.worker.*`: joined / expired events of every worker. */
  workerEventsAll(): string {
    return `${this.prefix}.events.worker.*`;
  }

  /** `<p>.worker.<id>`: a worker's topic for direct requests. */
  workerTopic(workerId: string): string {
    return `${this.prefix}.worker.${assertToken(workerId, 'worker id')}`;
  }

  /** `<p>.reply.<routerId>.<invocationId>`: where a worker answers durable work placed by that router. */
  reply(routerId: string, invocationId: string): string {
    return `${this.prefix}.reply.${assertToken(routerId, 'router id')}.${assertToken(invocationId, 'invocation id')}`;
  }

  /** `<p>.reply.<routerId>.*`: one router's reply subscription. */
  replyAll(routerId: string): string {
    return `${this.prefix}.reply.${assertToken(routerId, 'router id')}.*`;
  }

  /** `<p>.events.invocation.<id>`: state changes and progress of one invocation. */
  invocationEvent(invocationId: string): string {
    return `${this.prefix}.events.invocation.${assertToken(invocationId, 'invocation id')}`;
  }

  /** `<p>.events.invocation.>`: the event stream's subjects. */
  invocationEventsAll(): string {
    return `${this.prefix}.events.invocation.>`;
  }

  /** `<p>.invocations.<op>`: the orchestrator's API. */
  invocations(op: InvocationOp): string {
    if (!INVOCATION_OPS.includes(op)) throw new InvalidSubjectTokenError(op, 'invocations operation', `must be one of ${INVOCATION_OPS.join(', ')}`);
    return `${this.prefix}.invocations.${op}`;
  }

  /** `<p>.invocations.*`: every orchestrator operation. */
  invocationsAll(): string {
    return `${this.prefix}.invocations.*`;
  }

  /** `<p>.dispatches.<op>`: the scheduler's API. */
  dispatches(op: DispatchOp): string {
    if (!DISPATCH_OPS.includes(op)) throw new InvalidSubjectTokenError(op, 'dispatches operation', `must be one of ${DISPATCH_OPS.join(', ')}`);
    return `${this.prefix}.dispatches.${op}`;
  }

  /** `<p>.dispatches.*`: every scheduler operation. */
  dispatchesAll(): string {
    return `${this.prefix}.dispatches.*`;
  }

  /** `<p>.events.dispatch.<id>`: lifecycle and running-state events of one dispatch. */
  dispatchEvent(dispatchId: string): string {
    return `${this.prefix}.events.dispatch.${assertToken(dispatchId, 'dispatch id')}`;
  }

  /** `<p>.events.dispatch.*`: events of every dispatch. */
  dispatchEventsAll(): string {
    return `${this.prefix}.events.dispatch.*`;
  }

  /** `<p>.dlq.<task>`: where a copy of dead work is kept (`invalid` for messages that are not a REQUEST). */
  deadLetter(task: string): string {
    return `${this.prefix}.dlq.${assertToken(task, 'task')}`;
  }

  /** `<p>.dlq.>`: every dead letter. */
  deadLettersAll(): string {
    return `${this.prefix}.dlq.>`;
  }

  /** `<p>.deadletters.list`: request-reply listing the newest dead letters. */
  deadLettersList(): string {
    return `${this.prefix}.deadletters.list`;
  }

  /** `<p>.deadletters.redrive`: request-reply putting dead-lettered work back on the work queue. */
  deadLettersRedrive(): string {
    return `${this.prefix}.deadletters.redrive`;
  }

  /** `<p>.story`: asks every worker (no queue group) for what its core logged about one invocation. */
  story(): string {
    return `${this.prefix}.story`;
  }

  /**
   * The task token of a `<p>.call.<task>`, `<p>.submit.<task>` or `<p>.work.<task>[.<more>]` subject, or
   * undefined for any other subject (including a different prefix or an invalid task token).
   */
  taskOf(subject: string): string | undefined {
    if (typeof subject !== 'string' || !subject.startsWith(`${this.prefix}.`)) return undefined;
    const rest = subject.slice(this.prefix.length + 1).split('.');
    const [kind, task] = rest;
    if (task === undefined || tokenProblem(task) !== undefined) return undefined;
    if ((kind === 'call' || kind === 'submit') && rest.length === 2) return task;
    if (kind === 'work' && rest.slice(2).every((t) => tokenProblem(t) === undefined)) return task;
    return undefined;
  }
}
