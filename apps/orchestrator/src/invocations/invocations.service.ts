import { Inject, Injectable } from '@nestjs/common';
import {
  DEFAULT_TIMEOUT_MS, MAX_KEY_LENGTH, Failure, FailureCode, RequestState, INVOCATION_ID_PATTERN, InvalidMessageError, isFinalState, isRequestState, MAX_TIMEOUT_MS, MeshError, PROTOCOL_VERSION,
  decodeBody, invocationProgress, recordResponse, ResponseMessage, TASK_NAME_PATTERN, type InvocationRecord, type InvocationStory,
} from '@taskmesh/protocol';
import { MESH_BUS, type MeshBus } from '@taskmesh/nats';
import { CLOCK_SKEW_MS, NewestPage } from './newest-page.js';
import { mergeStory } from './story-merge.js';

/** `mesh.invocations.list` returns at most this many (newest first). */
export const MAX_LIST_LIMIT = 1000;
const DEFAULT_LIST_LIMIT = 100;
/** Stream sequences read by the first backward chunk of a list, doubling up to MAX_LIST_CHUNK. */
const FIRST_LIST_CHUNK = 1024;
const MAX_LIST_CHUNK = 65_536;
/** A story asks every worker and waits this long in all for their answers. */
export const STORY_GATHER_MS = 2_000;
/** ... and stops this long after the last answer (every worker answers, even with nothing, so this is the usual end). */
const STORY_STALL_MS = 150;
/** Answers read at most (one per worker). */
const MAX_STORY_ANSWERS = 1_000;

/** Reading invocation records: get, list, wait (docs/PROTOCOL.md section 4.7). Every request is validated; errors are RESPONSEs. */
@Injectable()
export class InvocationsService {
  constructor(@Inject(MESH_BUS) private readonly bus: MeshBus) {}

  async get(raw: Uint8Array): Promise<{ v: typeof PROTOCOL_VERSION; invocation: InvocationRecord }> {
    const { id } = fields(raw, { id: 'id' });
    const stored = await this.bus.invocations.get(checkId(id));
    if (!stored) throw new MeshError(FailureCode.NOT_FOUND, `no invocation ${id}`, { details: { id: id as string } });
    return { v: PROTOCOL_VERSION, invocation: stored.record };
  }

  async list(raw: Uint8Array): Promise<{ v: typeof PROTOCOL_VERSION; invocations: InvocationRecord[] }> {
    const f = fields(raw, { task: 'task?', state: 'state?', key: 'key?', from: 'from?', to: 'to?', limit: 'limit?' });
    if (f.task !== undefined && (typeof f.task !== 'string' || !TASK_NAME_PATTERN.test(f.task))) throw bad('task: must be a task name');
    if (f.state !== undefined && !(typeof f.state === 'string' && isRequestState(f.state))) throw bad('state: must be WAITING, PENDING, RUNNING, SUCCESS or FAILURE');
    if (f.key !== undefined && (typeof f.key !== 'string' || f.key.length < 1 || f.key.length > MAX_KEY_LENGTH)) throw bad(`key: must be a string of 1 to ${MAX_KEY_LENGTH} characters`);
    const from = instant(f.from, 'from');
    const to = instant(f.to, 'to');
    if (from !== undefined && to !== undefined && from > to) throw bad('from: must not be after to');
    const limit = f.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_LIST_LIMIT) throw bad(`limit: must be an integer from 1 to ${MAX_LIST_LIMIT}`);
    const matches = (record: InvocationRecord): boolean => {
      if ((f.task !== undefined && record.task !== f.task) || (f.state !== undefined && record.state !== f.state) || (f.key !== undefined && record.key !== f.key)) return false;
      const created = Date.parse(record.createdAt);
      return (from === undefined || created >= from) && (to === undefined || created <= to);
    };
    return { v: PROTOCOL_VERSION, invocations: await this.newest(limit as number, matches, from) };
  }

  /**
   * The `limit` newest records (by createdAt) that match, read from the bucket's stream backwards in growing
   * chunks, from the latest write to as far back as a record could still be newer than the page's oldest (see
   * NewestPage): the cost is what the page needs, not what the bucket holds (docs/ARCHITECTURE.md, "Retention
   * and sizing"). With `createdFrom` (ms), no further back than writes older than it (less the clock skew): a record
   * created since was first written since. Then the writes made meanwhile, so a record rewritten during the read is
   * not missed.
   */
  private async newest(limit: number, matches: (record: InvocationRecord) => boolean, createdFrom?: number): Promise<InvocationRecord[]> {
    const store = this.bus.invocations;
    const page = new NewestPage(limit);
    const { firstSeq, lastSeq } = await store.usage();
    let end = lastSeq;
    for (let chunk = FIRST_LIST_CHUNK; end >= firstSeq; chunk = Math.min(2 * chunk, MAX_LIST_CHUNK)) {
      const from = Math.max(firstSeq, end - chunk + 1);
      let firstWrittenAt: number | undefined;
      await store.walk({ fromSeq: from, toSeq: end }, ({ record, revision, writtenAt }) => {
        firstWrittenAt ??= writtenAt;
        page.add(record, revision, matches(record));
      });
      end = from - 1;
      if (firstWrittenAt !== undefined && (page.complete(firstWrittenAt) || (createdFrom !== undefined && firstWrittenAt + CLOCK_SKEW_MS < createdFrom))) break;
    }
    const now = await store.usage();
    if (now.lastSeq > lastSeq) await store.walk({ fromSeq: lastSeq + 1, toSeq: now.lastSeq }, ({ record, revision }) => page.add(record, revision, matches(record)));
    return page.take();
  }

  /**
   * Cancels an invocation: a waiting one is final CANCELLED at once (and never starts); a running one is asked to
   * stop (its task's AbortSignal fires, and it ends CANCELLED). Answers the record's state after that; a final
   * invocation is left as it is.
   */
  async cancel(raw: Uint8Array): Promise<ResponseMessage> {
    const id = checkId(fields(raw, { id: 'id' }).id);
    for (let conflict = 0; conflict < 5; conflict++) {
      const stored = await this.bus.invocations.get(id);
      if (!stored) throw new MeshError(FailureCode.NOT_FOUND, `no invocation ${id}`, { details: { id } });
      if (isFinalState(stored.record.state)) return recordResponse(stored.record);
      // Workers learn of it first, so the work never starts even if the record update below loses a race.
      await this.bus.cancellations.cancel(id);
      if (stored.record.state !== RequestState.WAITING) return recordResponse(stored.record);
      // Its start may be reported and not recorded yet (the recorder holds a start briefly, to write it with the
      // outcome): then it is running, and the cancellation above stops it.
      const progress = invocationProgress(stored.record, await this.bus.events.last(id));
      if (progress.kind === 'final') return progress.response;
      if (progress.kind === 'started') return ResponseMessage.state(id, RequestState.RUNNING);
      const cancelled: InvocationRecord = {
        ...stored.record, state: RequestState.FAILURE, finishedAt: new Date().toISOString(),
        failure: Failure.create(FailureCode.CANCELLED, 'cancelled before it started'),
      };
      if (await this.bus.invocations.update(cancelled, stored.revision)) return recordResponse(cancelled);
    }
    throw new MeshError(FailureCode.OVERLOADED, `invocation ${id} changed too often to cancel; retry`);
  }

  /**
   * What the worker cores that ran the invocation logged about it: every worker is asked on `<p>.story` (nothing is
   * written per call to make this possible), and their in-memory entries are merged by time. A worker that is gone
   * contributes nothing; the attempts no entry covers are listed as missing.
   */
  async story(raw: Uint8Array): Promise<{ v: typeof PROTOCOL_VERSION } & InvocationStory> {
    const id = checkId(fields(raw, { id: 'id' }).id);
    const stored = await this.bus.invocations.get(id);
    if (!stored) throw new MeshError(FailureCode.NOT_FOUND, `no invocation ${id}`, { details: { id } });
    const replies = await this.bus.gather(this.bus.subjects.story(), JSON.stringify({ id }), { maxWaitMs: STORY_GATHER_MS, stallMs: STORY_STALL_MS, maxReplies: MAX_STORY_ANSWERS });
    const answers = replies.map((m) => {
      try {
        return JSON.parse(new TextDecoder().decode(m.data)) as unknown;
      } catch {
        return undefined; // dropped by the merge, like any unsound answer
      }
    });
    return { v: PROTOCOL_VERSION, ...mergeStory(id, answers, stored.record) };
  }

  /** The final RESPONSE once the record is final, or its current state if `timeoutMs` passes first. */
  async wait(raw: Uint8Array): Promise<ResponseMessage> {
    const f = fields(raw, { id: 'id', timeoutMs: 'timeoutMs?' });
    const id = checkId(f.id);
    const timeoutMs = f.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || (timeoutMs as number) < 1 || (timeoutMs as number) > MAX_TIMEOUT_MS) throw bad(`timeoutMs: must be an integer from 1 to ${MAX_TIMEOUT_MS}`);
    // Watch first, then read: an update between the two cannot be missed.
    const watch = await this.bus.watchInvocation(id);
    try {
      const current = await this.bus.invocations.get(id);
      if (!current) throw new MeshError(FailureCode.NOT_FOUND, `no invocation ${id}`, { details: { id } });
      if (isFinalState(current.record.state)) return recordResponse(current.record);
      let latest = current.record;
      const timer = setTimeout(() => watch.stop(), timeoutMs as number);
      try {
        for await (const entry of watch) {
          if (entry.operation !== 'PUT' || entry.value.length === 0) continue;
          latest = entry.json<InvocationRecord>();
          if (isFinalState(latest.state)) break;
        }
      } finally {
        clearTimeout(timer);
      }
      return recordResponse(latest);
    } finally {
      watch.stop();
    }
  }
}

type Spec = Record<string, string>;

/** Decodes a JSON object body with exactly the given fields (`name?` = optional). */
function fields(raw: Uint8Array, spec: Spec): Record<string, unknown> {
  const value = decodeBody(raw, 'request');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('body: must be a JSON object');
  const allowed = new Set(Object.keys(spec));
  const problems: string[] = [];
  for (const key of Object.keys(value)) if (!allowed.has(key)) problems.push(`unknown field ${JSON.stringify(key)}`);
  for (const [key, rule] of Object.entries(spec)) if (!rule.endsWith('?') && (value as Record<string, unknown>)[key] === undefined) problems.push(`${key}: is required`);
  if (problems.length > 0) throw new InvalidMessageError(`invalid request: ${problems.join('; ')}`, problems);
  return value as Record<string, unknown>;
}

/** An ISO 8601 time of a list filter, as epoch ms. */
function instant(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw bad(`${name}: must be a date and time (ISO 8601)`);
  return ms;
}

function checkId(id: unknown): string {
  if (typeof id !== 'string' || !INVOCATION_ID_PATTERN.test(id)) throw bad(`id: must match ${INVOCATION_ID_PATTERN}`);
  return id;
}

function bad(problem: string): InvalidMessageError {
  return new InvalidMessageError(`invalid request: ${problem}`, [problem]);
}
