import { IllegalTransitionError } from './errors.js';
import { RequestState } from './states.js';

/** One legal move of a request, with the real situation that makes it. */
export interface RequestTransition {
  readonly from: RequestState;
  readonly to: RequestState;
  /** The situation that makes this move (the comment of the edge, kept as data for logs and docs). */
  readonly why: string;
}

/**
 * Every legal move of a request (taskflow's `build_a_machine`, extended with the two edges back to WAITING
 * that a durable queue and retries need). SUCCESS and FAILURE have no outgoing edge: they are final.
 * Moving to the state a request is already in is not an edge: it is a no-op (duplicates are normal on NATS).
 */
export const REQUEST_TRANSITIONS: readonly RequestTransition[] = Object.freeze([
  // The router chose a live worker for a direct request and sent it there; no confirmation yet.
  { from: 'WAITING', to: 'PENDING', why: 'placed with a worker' },
  // Durable delivery skips PENDING: a worker pulled the request from the work queue and started it.
  { from: 'WAITING', to: 'RUNNING', why: 'a worker pulled it from the durable queue and started it' },
  // No worker took it in time (deadline passed), or it was cancelled, or refused before any worker took it.
  { from: 'WAITING', to: 'FAILURE', why: 'expired, cancelled or rejected before any worker took it' },
  // The chosen worker confirmed it started running the task.
  { from: 'PENDING', to: 'RUNNING', why: 'the worker started it' },
  // The chosen worker expired (or refused) before starting: nothing ran, so it goes back to wait for another.
  { from: 'PENDING', to: 'WAITING', why: 'worker lost before starting: back in the queue' },
  // The placed request expired or was cancelled before the worker confirmed it started.
  { from: 'PENDING', to: 'FAILURE', why: 'expired, cancelled or refused before it started' },
  // The task returned a result.
  { from: 'RUNNING', to: 'SUCCESS', why: 'the task returned a result' },
  // The task threw non-retryably, ran out of attempts, was cancelled, or its worker was lost (WORKER_LOST).
  { from: 'RUNNING', to: 'FAILURE', why: 'the task failed, was cancelled, or its worker was lost for good' },
  // The attempt was lost (worker expired, message redelivered) or failed retryably: it waits for another attempt.
  { from: 'RUNNING', to: 'WAITING', why: 'attempt lost or failed retryably: waits for another attempt' },
] satisfies RequestTransition[]);

// Lookup built once from the table, so the table stays the single source of truth.
const LEGAL: ReadonlyMap<RequestState, ReadonlySet<RequestState>> = new Map(
  Object.values(RequestState).map((from) => [from, new Set(REQUEST_TRANSITIONS.filter((t) => t.from === from).map((t) => t.to))]),
);

/** True when a request in `from` may move to `to` (including the no-op `from === to`). */
export function canTransition(from: RequestState, to: RequestState): boolean {
  return from === to || (LEGAL.get(from)?.has(to) ?? false);
}

/**
 * The state after moving a request from `from` to `to`: `to` for a legal move, `from` for a repeated move
 * (a no-op, since messages may arrive twice), and an IllegalTransitionError for anything else.
 */
export function transition(from: RequestState, to: RequestState): RequestState {
  if (from === to) return from;
  if (LEGAL.get(from)?.has(to) === true) return to;
  throw new IllegalTransitionError(from, to);
}

/**
 * The one way out of a final state, and not part of the flow of work: an operator redrives a dead-lettered
 * invocation (`mesh.deadletters.redrive`, docs/PROTOCOL.md section 4.12) and it waits for a new attempt. Kept out of
 * REQUEST_TRANSITIONS on purpose: to everything that reports on work (workers, routers, the recorder) a final
 * outcome stays final; only the redrive, fenced by a revision-checked record write, takes this edge.
 */
export const REDRIVE_TRANSITION: RequestTransition = Object.freeze({
  from: 'FAILURE', to: 'WAITING', why: 'dead-lettered, then redriven by an operator: waits for a new attempt',
} satisfies RequestTransition);

/** The state after an operator's redrive of a request in `from`: WAITING from FAILURE, else IllegalTransitionError. */
export function redriveTransition(from: RequestState): RequestState {
  if (from === REDRIVE_TRANSITION.from) return REDRIVE_TRANSITION.to;
  throw new IllegalTransitionError(from, REDRIVE_TRANSITION.to);
}

/** The states a request in `from` may move to (excluding the no-op to itself). */
export function nextStates(from: RequestState): RequestState[] {
  return [...(LEGAL.get(from) ?? [])];
}
