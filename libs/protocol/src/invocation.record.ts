import type { Failure } from './failure.js';
import type { JsonValue } from './json.js';
import { ResponseMessage } from './response.message.js';
import { RequestState } from './states.js';
import { INVOCATION_ID_PATTERN, MAX_KEY_LENGTH, TASK_NAME_PATTERN } from './limits.js';
import { isIsoInstant } from './validators.js';
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
  /** Set by the last `mesh.deadletters.redrive` of it (docs/PROTOCOL.md section 4.12). */
  redrive?: RedriveMark;
}

/**
 * What the last redrive of an invocation did: which dead letter it put back, after how many attempts (reports of
 * those attempts are refused from then on), when, and how many redrives there were in all.
 */
export interface RedriveMark {
  /** The dead letter's sequence in the dead-letter stream: one redrive per dead letter. */
  deadLetterSeq: number;
  /** The invocation's attempts when it was redriven; the new attempt is the next one. */
  afterAttempt: number;
  /** When (ISO-8601). */
  at: string;
  /** Redrives of this invocation so far, this one included. */
  count: number;
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

/**
 * Reads the first record carried by the `Mesh-Record` header of invocation `id`'s work and events: the record
 * newInvocationRecord made, WAITING with no attempt. Undefined when it is not one (wrong id, missing or malformed
 * fields, or any other state): a header is input like any other, and a record is created only from a sound one.
 */
export function seedRecord(text: string, id: string): InvocationRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const r = value as Record<string, unknown>;
  const optionalString = (v: unknown, ok: (s: string) => boolean) => v === undefined || (typeof v === 'string' && ok(v));
  const sound = r.v === PROTOCOL_VERSION && r.id === id && INVOCATION_ID_PATTERN.test(id)
    && typeof r.task === 'string' && TASK_NAME_PATTERN.test(r.task)
    && r.state === RequestState.WAITING && r.attempts === 0 && Array.isArray(r.children) && r.children.length === 0
    && isIsoInstant(r.createdAt)
    && (r.deadline === undefined || (Number.isSafeInteger(r.deadline) && (r.deadline as number) > 0))
    && optionalString(r.argsDigest, (s) => s.length <= 128)
    && optionalString(r.key, (s) => s.length > 0 && s.length <= MAX_KEY_LENGTH)
    && optionalString(r.parentId, (s) => INVOCATION_ID_PATTERN.test(s))
    && Object.keys(r).every((k) => SEED_FIELDS.has(k));
  if (!sound) return undefined;
  return newInvocationRecord({
    id, task: r.task as string, createdAt: r.createdAt as string,
    ...(r.argsDigest === undefined ? {} : { argsDigest: r.argsDigest as string }),
    ...(r.deadline === undefined ? {} : { deadline: r.deadline as number }),
    ...(r.key === undefined ? {} : { key: r.key as string }),
    ...(r.parentId === undefined ? {} : { parentId: r.parentId as string }),
  });
}

const SEED_FIELDS = new Set(['v', 'id', 'task', 'argsDigest', 'state', 'attempts', 'key', 'createdAt', 'deadline', 'parentId', 'children']);
