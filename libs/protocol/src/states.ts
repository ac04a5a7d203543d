/**
 * The states a request goes through (taskflow's worker-based protocol). They are protocol words, not task
 * states: they say where the request is in its journey from caller to worker and back.
 */
export const RequestState = {
  /** Accepted, waiting for a worker (in the durable queue, or not yet placed). */
  WAITING: 'WAITING',
  /** Placed with a chosen worker that has not confirmed it started. */
  PENDING: 'PENDING',
  /** A worker started it. */
  RUNNING: 'RUNNING',
  /** Finished with a result. Final. */
  SUCCESS: 'SUCCESS',
  /** Finished without a result (see the failure code). Final. */
  FAILURE: 'FAILURE',
} as const;

/** One of the request states. */
export type RequestState = (typeof RequestState)[keyof typeof RequestState];

/** A RESPONSE's `state`: a request state, or EVENT for a progress event that does not change the state. */
export const ResponseState = {
  ...RequestState,
  /** A progress event; the request's state is unchanged. */
  EVENT: 'EVENT',
} as const;

/** One of the response states. */
export type ResponseState = (typeof ResponseState)[keyof typeof ResponseState];

/** Every request state, in lifecycle order. */
export const REQUEST_STATES: readonly RequestState[] = Object.freeze(Object.values(RequestState));

/** Every response state (the request states, then EVENT). */
export const RESPONSE_STATES: readonly ResponseState[] = Object.freeze(Object.values(ResponseState));

/** The states a request never leaves. */
export const FINAL_STATES: ReadonlySet<RequestState> = new Set<RequestState>([RequestState.SUCCESS, RequestState.FAILURE]);

/** True when `state` is SUCCESS or FAILURE (EVENT and the waiting states are not final). */
export function isFinalState(state: ResponseState): state is 'SUCCESS' | 'FAILURE' {
  return state === RequestState.SUCCESS || state === RequestState.FAILURE;
}

/** True when `value` is one of the request states. */
export function isRequestState(value: unknown): value is RequestState {
  return typeof value === 'string' && (REQUEST_STATES as readonly string[]).includes(value);
}

/** True when `value` is one of the response states. */
export function isResponseState(value: unknown): value is ResponseState {
  return typeof value === 'string' && (RESPONSE_STATES as readonly string[]).includes(value);
}
