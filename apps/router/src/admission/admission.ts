import {
  argsDigest, concurrencyKey, CycleDetectedError, cycleIn, FailureCode, isFinalState, MeshError, newInvocationRecord, RequestMessage,
  type CallLink, type CallRequest, type InvocationRecord,
} from '@taskmesh/protocol';
import type { HeldClaim } from '@taskmesh/nats';
import type { CallMode as Mode } from '@taskmesh/client';
import type { TaskTraits } from '@taskmesh/client';

// The decisions of admission, pure: what to write before queueing a call, and what each thing read means. The
// reads and writes themselves are AdmissionService's (admission.service.ts); the rule of who writes what is in
// docs/ARCHITECTURE.md, "Who writes invocation records and claims".

/** Children listed in a parent's record at most (the rest are still linked to it by their own parentId). */
export const MAX_CHILDREN_LISTED = 1_000;
/** Rounds of "the live invocation just ended: claim its registration key again" before giving up. */
export const MAX_REGISTRATION_ROUNDS = 3;
/**
 * How long the router keeps sending accepted work to the work stream while the outcome is unknown (no
 * acknowledgement, no stream leader): a 3-node cluster elects a new leader within seconds of losing one, and work
 * the router accepted must not be lost meanwhile (docs/ARCHITECTURE.md, "JetStream cluster").
 */
export const QUEUE_RETRY_MS = 20_000;

/** A call as admission sees it: parsed and validated, its id assigned, its task known, not delivered direct. */
export interface CallToAdmit {
  mode: Mode;
  task: string;
  /** The invocation id: the caller's (`request.id`), or one generated for this call when it named none. */
  id: string;
  request: CallRequest;
  /** The task's declared traits (its concurrency controls), from its offer. */
  traits: TaskTraits | undefined;
  /**
   * A child call's parent's first record, as its worker got it with the parent's work (`Mesh-Record`): a parent
   * with a generated id is recorded from its first event, so its record may not exist yet when its child is listed.
   */
  parentRecord?: string;
}

/** A call admission refuses: answered with `error`, nothing written. */
export interface Refusal {
  kind: 'refuse';
  error: MeshError;
}

/** What to do with a call before its work is queued. */
export type AdmissionPlan =
  | Refusal
  /**
   * A generated id is unique: nothing to check. The record travels with the work (the `Mesh-Record` header) and
   * the orchestrator creates it from the worker's first event. A submit's answer promises a record at once (its
   * caller may look it up next), so a submit also creates it while the work is queued (`createAlongside`).
   */
  | { kind: 'record-with-work'; record: InvocationRecord; message: RequestMessage; createAlongside: boolean }
  /**
   * Checks first, in this order, then queue: create the record (create-only: an existing id wins, which is the
   * lasting dedup of caller-chosen ids); claim `registration` (its claim names a record, so the record exists
   * first); list the child in `parentId`'s record (a child is linked before it runs).
   */
  | { kind: 'record-first'; record: InvocationRecord; message: RequestMessage; registration?: string; parentId?: string };

/** Decides how a call is admitted, at wall-clock time `now` (epoch ms). Pure. */
export function planAdmission(call: CallToAdmit, now: number): AdmissionPlan {
  const { task, id, request } = call;
  const chain = request.chain;
  const digest = argsDigest(request.args);
  const cycle = cycleRefusal(chain, task, digest);
  if (cycle) return cycle;
  const parentId = chain?.at(-1)?.id;
  const registration = concurrencyKey('reg', task, request.args, call.traits?.concurrency);
  const createdAt = new Date(now).toISOString();
  const deadline = now + request.timeoutMs;
  const record = newInvocationRecord({ id, task, argsDigest: digest, key: request.key, parentId, createdAt, deadline });
  if (registration !== undefined) record.registration = registration;
  const message = RequestMessage.create({
    id, task, args: request.args, key: request.key, deadline, createdAt, parentId, chain, dispatch: request.dispatch,
  });
  if (request.id === undefined && registration === undefined && parentId === undefined) {
    return { kind: 'record-with-work', record, message, createAlongside: call.mode === 'submit' };
  }
  return {
    kind: 'record-first', record, message,
    ...(registration === undefined ? {} : { registration }),
    ...(parentId === undefined ? {} : { parentId }),
  };
}

/** A call equal to one of its ancestors (same task and arguments) would wait on itself: CYCLE_DETECTED. */
export function cycleRefusal(chain: readonly CallLink[] | undefined, task: string, digest: string): Refusal | undefined {
  const loop = cycleIn(chain, task, digest);
  if (loop === undefined || chain === undefined) return undefined;
  const path = [...chain.map((l) => l.task), task].join(' -> ');
  const error = new CycleDetectedError(`calling ${task} with these arguments again would wait on itself (${path}); it is invocation ${loop.id} up the chain`, {
    details: { task, ancestor: loop.id, path: chain.map((l) => l.id) },
  });
  return { kind: 'refuse', error };
}

/** What a registration claim attempt found. */
export type ClaimVerdict =
  /** The key is held by this invocation: it is the live one. */
  | { kind: 'registered' }
  /** Another invocation holds it: read its record (`judgeHolder`) before reusing it or taking the key over. */
  | { kind: 'check-holder'; holder: string; revision: number }
  | Refusal;

/**
 * Judges the answer to "claim `key` for invocation `id`" (`held`: undefined when the create won, else the holder
 * and its revision). Reusing an ancestor of the caller would wait on itself: CYCLE_DETECTED. Pure.
 */
export function judgeClaim(id: string, chain: readonly CallLink[] | undefined, held: HeldClaim | undefined): ClaimVerdict {
  if (held === undefined || held.claim.id === id) return { kind: 'registered' };
  const holder = held.claim.id;
  if (chain?.some((link) => link.id === holder)) {
    return { kind: 'refuse', error: new CycleDetectedError(`this call would reuse invocation ${holder}, which is waiting for it up the call chain`, { details: { reuses: holder } }) };
  }
  return { kind: 'check-holder', holder, revision: held.revision };
}

/** What the holder's record says about its claim. */
export type HolderVerdict =
  /** The holder is live: the call is answered as that invocation (its own record is removed). */
  | { kind: 'reuse'; id: string }
  /** The holder ended, or its record is gone: its claim is stale; take it over at `revision` (one winner). */
  | { kind: 'take-over'; revision: number };

/** Judges a claim's holder by its record (undefined: none). Pure. */
export function judgeHolder(holder: string, revision: number, record: InvocationRecord | undefined): HolderVerdict {
  return record !== undefined && !isFinalState(record.state) ? { kind: 'reuse', id: holder } : { kind: 'take-over', revision };
}

/** The registration changed hands too often while claiming it. */
export function registrationRace(key: string): Refusal {
  return { kind: 'refuse', error: new MeshError(FailureCode.OVERLOADED, `registration ${key} changed hands ${MAX_REGISTRATION_ROUNDS} times while claiming it; retry`) };
}

/**
 * The parent's record with `childId` listed among its children, or undefined to leave it as it is (listed
 * already, or MAX_CHILDREN_LISTED reached). Pure.
 */
export function listChild(parent: InvocationRecord, childId: string): InvocationRecord | undefined {
  if (parent.children.includes(childId) || parent.children.length >= MAX_CHILDREN_LISTED) return undefined;
  return { ...parent, children: [...parent.children, childId] };
}
