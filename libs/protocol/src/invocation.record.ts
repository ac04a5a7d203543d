import type { Failure } from './failure.js';
import type { JsonValue } from './json.js';
import { ResponseMessage } from './response.message.js';
import { RequestState } from './states.js';
import { PROTOCOL_VERSION } from './version.js';

/**
 * One invocation's record, as stored in the invocations bucket (key = id) and served by `mesh.invocations.get`.
 * Times are ISO-8601. `attempts` counts the times it started running (0 while it waits).
 */
export interface InvocationRecord {
  v: typeof PROTOCOL_VERSION;
  id: string;
  task: string;
  /** argsDigest of its arguments (the same arguments give the same digest). */
  argsDigest?: string;
  state: RequestState;
  attempts: number;
  key?: string;
  worker?: string;
  createdAt: string;
  /** Epoch ms after which the work is never started (from the request's timeoutMs). */
  deadline?: number;
  startedAt?: string;
  finishedAt?: string;
  result?: JsonValue;
  failure?: Failure;
  parentId?: string;
  /** Ids of the invocations this one called (child calls; the first 1000). */
  children: string[];
  /** Its registration-concurrency key, while it may be the live invocation for it (released when it ends). */
  registration?: string;
  /** Reported transitions refused because they came from a superseded attempt or after the final outcome. */
  rejected?: number;
}

/** The record of an invocation just accepted (WAITING, no attempt yet). */
export function newInvocationRecord(fields: {
  id: string; task: string; argsDigest?: string; key?: string; parentId?: string; createdAt: string; deadline?: number;
}): InvocationRecord {
  return {
    v: PROTOCOL_VERSION, id: fields.id, task: fields.task, state: RequestState.WAITING, attempts: 0, createdAt: fields.createdAt, children: [],
    ...(fields.argsDigest === undefined ? {} : { argsDigest: fields.argsDigest }),
    ...(fields.deadline === undefined ? {} : { deadline: fields.deadline }),
    ...(fields.key === undefined ? {} : { key: fields.key }),
    ...(fields.parentId === undefined ? {} : { parentId: fields.parentId }),
  };
}

/** The RESPONSE a caller gets for a record: its outcome when final, else its current state. */
export function recordResponse(record: InvocationRecord): ResponseMessage {
  const meta = { ...(record.attempts > 0 ? { attempt: record.attempts } : {}), ...(record.worker ? { worker: record.worker } : {}) };
  if (record.state === RequestState.SUCCESS) return ResponseMessage.success(record.id, record.result ?? null, meta);
  if (record.state === RequestState.FAILURE && record.failure) return ResponseMessage.failure(record.id, record.failure, meta);
  if (record.state === RequestState.FAILURE) throw new Error(`record ${record.id} is FAILURE without a failure`);
  return ResponseMessage.state(record.id, record.state, meta);
}
