/**
 * Reading the mesh's replies at the client's edge (docs/PROTOCOL.md sections 4.2, 4.6-4.8, 8). Pure. A reply that
 * is not what the contract says becomes an InternalError naming the subject and every problem (`details.problems`),
 * never a crash or a half-read value; an error reply (a FAILURE RESPONSE) becomes the MeshError of its code.
 */
import {
  decodeBody, DispatchCreate, DispatchEventMessage, InternalError, InvalidMessageError, isIsoInstant, isJsonObject, isJsonValue,
  isRequestState, MeshError, PROTOCOL_VERSION, ResponseMessage, ResponseState, INVOCATION_ID_PATTERN, TASK_NAME_PATTERN,
  type DispatchRecord, type DispatchUpcoming, type Failure, type InvocationRecord, type InvocationStory, type JsonValue, type RedriveReply, type RedriveSkip,
} from '@taskmesh/protocol';
import type { DeadLetter, WorkerInfo } from './mesh-client.js';

/** An InternalError for a reply on `subject` that breaks the contract. */
export function malformedReply(subject: string, problems: readonly string[], cause?: unknown): InternalError {
  const kept = problems.slice(0, 20);
  return new InternalError(`malformed reply to ${subject}: ${kept.join('; ')}`, {
    retryable: false,
    details: { subject, problems: [...kept] },
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The MeshError of a failure, with the invocation id it is about in `details.invocationId` (when known), so a caller
 * can `get`, `wait` or `events` it.
 */
export function failureError(failure: Pick<Failure, 'code' | 'message' | 'retryable' | 'details'>, invocationId?: string): MeshError {
  const details = invocationId === undefined ? failure.details : { ...failure.details, invocationId };
  return MeshError.fromFailure({ code: failure.code, message: failure.message, retryable: failure.retryable, ...(details === undefined ? {} : { details }) });
}

/** Reads a RESPONSE reply (call, submit, wait, cancel); InternalError when it is not one. */
export function readResponse(subject: string, data: Uint8Array | unknown): ResponseMessage {
  try {
    return ResponseMessage.parse(data);
  } catch (err) {
    const problems = err instanceof InvalidMessageError ? err.problems : [(err as Error).message];
    throw malformedReply(subject, problems.length > 0 ? problems : [(err as Error).message], err);
  }
}

/**
 * The result of a final RESPONSE: SUCCESS -> its result; FAILURE -> throws its MeshError, naming the invocation (the
 * reply's id, else `id`, the one asked about).
 */
export function outcomeOf(subject: string, response: ResponseMessage, id?: string): JsonValue {
  if (response.state === ResponseState.SUCCESS) return response.result ?? null;
  if (response.state === ResponseState.FAILURE) throw failureError(response.failure!, response.id ?? id);
  throw malformedReply(subject, [`state: ${response.state} where an outcome (SUCCESS or FAILURE) was expected`]);
}

/**
 * Reads a reply whose success body is `{"v":1, <field>: ...}` (get, list, workers, dead letters, dispatches):
 * `read` checks the field's value and pushes problems. An error reply (a RESPONSE, FAILURE) throws its MeshError.
 */
export function readBody<T>(subject: string, data: Uint8Array | unknown, field: string, read: (value: unknown, problems: string[]) => T): T {
  let body: unknown;
  try {
    body = decodeBody(data, `reply to ${subject}`);
  } catch (err) {
    throw malformedReply(subject, err instanceof InvalidMessageError ? err.problems : [(err as Error).message], err);
  }
  if (!isRecord(body)) throw malformedReply(subject, ['body: must be a JSON object']);
  if (body['type'] === 'RESPONSE') {
    const response = readResponse(subject, body);
    if (response.state === ResponseState.FAILURE) throw failureError(response.failure!);
    throw malformedReply(subject, [`a ${response.state} RESPONSE where {"v":1,"${field}":...} was expected`]);
  }
  const problems: string[] = [];
  if (body['v'] !== PROTOCOL_VERSION) problems.push(`v: must be ${PROTOCOL_VERSION}`);
  if (!Object.hasOwn(body, field)) problems.push(`${field}: is required`);
  const value = read(field === WHOLE ? body : body[field], problems);
  if (problems.length > 0) throw malformedReply(subject, problems);
  return value;
}

/** readBody's `field` for a reply read as a whole (several top-level fields), by a reader given the whole body. */
export const WHOLE = 'v';

/** The reply of `mesh.deadletters.redrive` (section 4.12), read as a whole. */
export function readRedriveReply(value: unknown, problems: string[]): RedriveReply {
  const r = value as Record<string, unknown>;
  if (!Array.isArray(r['redriven']) || !r['redriven'].every((id) => typeof id === 'string')) problems.push('redriven: must be a list of ids');
  const skipped = r['skipped'];
  if (!Array.isArray(skipped) || !skipped.every((s) => isRecord(s) && typeof s['id'] === 'string' && typeof s['reason'] === 'string')) {
    problems.push('skipped: must be a list of {id, reason}');
  }
  if (r['more'] !== undefined && typeof r['more'] !== 'boolean') problems.push('more: must be a boolean');
  return {
    redriven: (r['redriven'] ?? []) as string[],
    skipped: ((skipped ?? []) as RedriveSkip[]).map((s) => ({ id: s.id, reason: s.reason })),
    ...(r['more'] === true ? { more: true } : {}),
  };
}

/** The reply of `mesh.invocations.story` (section 4.13), read as a whole. */
export function readStoryReply(value: unknown, problems: string[]): InvocationStory {
  const r = value as Record<string, unknown>;
  if (typeof r['id'] !== 'string') problems.push('id: must be an invocation id');
  const entries = r['entries'];
  if (!Array.isArray(entries)) problems.push('entries: must be a list');
  else {
    entries.forEach((e, i) => {
      const ok = isRecord(e) && isIsoInstant(e['at']) && typeof e['worker'] === 'string' && (e['kind'] === 'stimulus' || e['kind'] === 'instruction')
        && typeof e['type'] === 'string' && (e['attempt'] === undefined || isCount(e['attempt'])) && (e['detail'] === undefined || isRecord(e['detail']));
      if (!ok) problems.push(`entries[${i}]: must be {at, attempt?, worker, kind, type, detail?}`);
    });
  }
  if (!Array.isArray(r['workers']) || !r['workers'].every((w) => typeof w === 'string')) problems.push('workers: must be a list of worker ids');
  if (r['missing'] !== undefined && (!Array.isArray(r['missing']) || !r['missing'].every((m) => isRecord(m) && isCount(m['attempt'])))) {
    problems.push('missing: must be a list of {attempt, worker?}');
  }
  const { v: _v, ...story } = r;
  return story as unknown as InvocationStory;
}

/** A list of items, each read by `item` (problems are prefixed with `<field>[i]`). */
export function listOf<T>(field: string, item: (value: unknown, path: string, problems: string[]) => T | undefined): (value: unknown, problems: string[]) => T[] {
  return (value, problems) => {
    if (!Array.isArray(value)) {
      problems.push(`${field}: must be an array`);
      return [];
    }
    const out: T[] = [];
    value.forEach((v, i) => {
      const read = item(v, `${field}[${i}]`, problems);
      if (read !== undefined) out.push(read);
    });
    return out;
  };
}

/** An invocation record (`InvocationRecord`, section 4.7): the fields a caller relies on are checked. */
export function readInvocationRecord(value: unknown, path: string, problems: string[]): InvocationRecord | undefined {
  if (!isRecord(value)) {
    problems.push(`${path}: must be an invocation record`);
    return undefined;
  }
  const before = problems.length;
  const r = value;
  if (r['v'] !== PROTOCOL_VERSION) problems.push(`${path}.v: must be ${PROTOCOL_VERSION}`);
  if (typeof r['id'] !== 'string' || !INVOCATION_ID_PATTERN.test(r['id'])) problems.push(`${path}.id: must be an invocation id`);
  if (typeof r['task'] !== 'string' || !TASK_NAME_PATTERN.test(r['task'])) problems.push(`${path}.task: must be a task name`);
  if (!isRequestState(r['state'])) problems.push(`${path}.state: must be a request state`);
  if (!isCount(r['attempts'])) problems.push(`${path}.attempts: must be an integer >= 0`);
  if (!isIsoInstant(r['createdAt'])) problems.push(`${path}.createdAt: must be an ISO instant`);
  if (!Array.isArray(r['children']) || !r['children'].every((c) => typeof c === 'string')) problems.push(`${path}.children: must be a list of ids`);
  for (const f of ['startedAt', 'finishedAt'] as const) if (r[f] !== undefined && !isIsoInstant(r[f])) problems.push(`${path}.${f}: must be an ISO instant`);
  for (const f of ['argsDigest', 'key', 'worker', 'parentId', 'registration'] as const) {
    if (r[f] !== undefined && typeof r[f] !== 'string') problems.push(`${path}.${f}: must be a string`);
  }
  for (const f of ['deadline', 'rejected'] as const) if (r[f] !== undefined && !isCount(r[f])) problems.push(`${path}.${f}: must be an integer >= 0`);
  if (r['result'] !== undefined && !isJsonValue(r['result'])) problems.push(`${path}.result: must be JSON`);
  if (r['state'] === ResponseState.FAILURE) problems.push(...failureProblems(r['failure'], `${path}.failure`));
  return problems.length === before ? (r as unknown as InvocationRecord) : undefined;
}

/** A live worker (`mesh.workers.list`, section 4.6). */
export function readWorker(value: unknown, path: string, problems: string[]): WorkerInfo | undefined {
  if (!isRecord(value)) {
    problems.push(`${path}: must be a worker`);
    return undefined;
  }
  const before = problems.length;
  for (const f of ['id', 'topic'] as const) if (typeof value[f] !== 'string') problems.push(`${path}.${f}: must be a string`);
  if (!Array.isArray(value['tasks']) || !value['tasks'].every((t) => typeof t === 'string')) problems.push(`${path}.tasks: must be a list of task names`);
  for (const f of ['capacity', 'inflight', 'seq', 'lastSeenMs', 'uptimeMs', 'restarts'] as const) {
    if (typeof value[f] !== 'number' || !Number.isFinite(value[f])) problems.push(`${path}.${f}: must be a number`);
  }
  return problems.length === before ? (value as unknown as WorkerInfo) : undefined;
}

/** A dead letter (`mesh.deadletters.list`, section 4.7). */
export function readDeadLetter(value: unknown, path: string, problems: string[]): DeadLetter | undefined {
  if (!isRecord(value)) {
    problems.push(`${path}: must be a dead letter`);
    return undefined;
  }
  const before = problems.length;
  if (!isCount(value['seq'])) problems.push(`${path}.seq: must be an integer >= 0`);
  for (const f of ['task', 'reason'] as const) if (typeof value[f] !== 'string') problems.push(`${path}.${f}: must be a string`);
  for (const f of ['fromStream', 'at'] as const) if (value[f] !== undefined && typeof value[f] !== 'string') problems.push(`${path}.${f}: must be a string`);
  for (const f of ['fromSeq', 'deliveries'] as const) if (value[f] !== undefined && !isCount(value[f])) problems.push(`${path}.${f}: must be an integer >= 0`);
  if (!isJsonValue(value['body'])) problems.push(`${path}.body: must be JSON`);
  return problems.length === before ? (value as unknown as DeadLetter) : undefined;
}

/** A dispatch record (section 4.8): the create fields, checked by DispatchCreate, plus `createdAt` and `updatedAt`. */
export function readDispatch(value: unknown, path: string, problems: string[]): DispatchRecord | undefined {
  if (!isRecord(value)) {
    problems.push(`${path}: must be a dispatch`);
    return undefined;
  }
  const before = problems.length;
  const { createdAt, updatedAt, ...fields } = value;
  if (typeof fields['id'] !== 'string') problems.push(`${path}.id: is required`);
  if (fields['v'] !== PROTOCOL_VERSION) problems.push(`${path}.v: must be ${PROTOCOL_VERSION}`);
  if (!isIsoInstant(createdAt)) problems.push(`${path}.createdAt: must be an ISO instant`);
  if (!isIsoInstant(updatedAt)) problems.push(`${path}.updatedAt: must be an ISO instant`);
  try {
    DispatchCreate.parse(fields);
  } catch (err) {
    if (!(err instanceof InvalidMessageError)) throw err;
    problems.push(...err.problems.map((p) => `${path}.${p}`));
  }
  return problems.length === before ? (value as unknown as DispatchRecord) : undefined;
}

/** One dispatch's next occurrences (`mesh.dispatches.upcoming`, section 4.8). */
export function readUpcoming(value: unknown, path: string, problems: string[]): DispatchUpcoming | undefined {
  if (!isRecord(value)) {
    problems.push(`${path}: must be {id, occurrences}`);
    return undefined;
  }
  const before = problems.length;
  if (typeof value['id'] !== 'string') problems.push(`${path}.id: must be a string`);
  if (!Array.isArray(value['occurrences']) || !value['occurrences'].every(isIsoInstant)) problems.push(`${path}.occurrences: must be a list of ISO instants`);
  return problems.length === before ? (value as unknown as DispatchUpcoming) : undefined;
}

/** A dispatch event (`<p>.events.dispatch.<id>`), its record checked too; undefined (problems pushed) when malformed. */
export function readDispatchEvent(data: Uint8Array | unknown, problems: string[]): DispatchEventMessage | undefined {
  try {
    const event = DispatchEventMessage.parse(data);
    return readDispatch(event.dispatch, 'dispatch', problems) === undefined ? undefined : event;
  } catch (err) {
    problems.push(...(err instanceof InvalidMessageError ? err.problems : [(err as Error).message]));
    return undefined;
  }
}

function failureProblems(value: unknown, path: string): string[] {
  if (!isRecord(value)) return [`${path}: must be a failure`];
  const problems: string[] = [];
  if (typeof value['code'] !== 'string') problems.push(`${path}.code: must be a failure code`);
  if (typeof value['message'] !== 'string') problems.push(`${path}.message: must be a string`);
  if (typeof value['retryable'] !== 'boolean') problems.push(`${path}.retryable: must be a boolean`);
  if (value['details'] !== undefined && !isJsonObject(value['details'])) problems.push(`${path}.details: must be a JSON object`);
  return problems;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
