import { Inject, Injectable } from '@nestjs/common';
import {
  decodeBody, DISPATCH_ID_PATTERN, DispatchCreate, DispatchEventMessage, DispatchEventType, FailureCode, InvalidMessageError, MeshError, parseDispatchUpcoming,
  parseDispatchUpdate, PROTOCOL_VERSION, type DispatchRecord, type DispatchUpcoming,
} from '@taskmesh/protocol';
import { MESH_BUS, uniqueId, type DispatchStore, type MeshBus } from '@taskmesh/nats';
import { APP_CONFIG } from '@taskmesh/runtime';
import type { SchedulerConfig } from '../scheduler.config.js';
import { Recurrence, RecurrenceError } from '../timeline/recurrence.js';
import { DISPATCH_STORE } from './dispatch-store.provider.js';

/** An occurrence at most this far in the past is still "now" for validation (clocks and round trips). */
const START_GRACE_MS = 5_000;
/** Revision conflicts in a row before an update gives up (each means another writer made progress). */
const MAX_UPDATE_CONFLICTS = 5;

/** `mesh.dispatches.*`: create, update, get, list, delete; each change is announced on `mesh.events.dispatch.<id>`. */
@Injectable()
export class DispatchesService {
  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(DISPATCH_STORE) private readonly store: DispatchStore,
    @Inject(APP_CONFIG) private readonly config: SchedulerConfig,
  ) {}

  async create(raw: Uint8Array): Promise<{ v: typeof PROTOCOL_VERSION; dispatch: DispatchRecord }> {
    const body = asValidation(() => DispatchCreate.parse(raw));
    const now = new Date().toISOString();
    const { id: chosen, ...fields } = body;
    const record: DispatchRecord = { v: PROTOCOL_VERSION, id: chosen ?? `d-${uniqueId()}`, ...fields, createdAt: now, updatedAt: now };
    await this.check(record);
    if ((await this.store.count(this.config.MESH_MAX_DISPATCHES)) >= this.config.MESH_MAX_DISPATCHES) {
      throw new MeshError(FailureCode.OVERLOADED, `${this.config.MESH_MAX_DISPATCHES} dispatches exist (MESH_MAX_DISPATCHES); delete some first`);
    }
    if (!(await this.store.create(record))) throw validation(`id: a dispatch ${record.id} exists already (update or delete it)`);
    this.announce(DispatchEventType.Created, record);
    return { v: PROTOCOL_VERSION, dispatch: record };
  }

  async update(raw: Uint8Array): Promise<{ v: typeof PROTOCOL_VERSION; dispatch: DispatchRecord }> {
    const update = asValidation(() => parseDispatchUpdate(raw));
    for (let conflict = 0; conflict < MAX_UPDATE_CONFLICTS; conflict++) {
      const stored = await this.store.get(update.id);
      if (!stored) throw notFound(update.id);
      const merged: DispatchRecord = { ...stored.record, ...update.changes, updatedAt: new Date().toISOString() };
      for (const field of update.removed) delete merged[field];
      await this.check(merged);
      if (await this.store.update(merged, stored.revision)) {
        this.announce(DispatchEventType.Updated, merged);
        return { v: PROTOCOL_VERSION, dispatch: merged };
      }
    }
    throw new MeshError(FailureCode.OVERLOADED, `dispatch ${update.id} changed too often to update; retry`);
  }

  async get(raw: Uint8Array): Promise<{ v: typeof PROTOCOL_VERSION; dispatch: DispatchRecord }> {
    const id = idOf(raw);
    const stored = await this.store.get(id);
    if (!stored) throw notFound(id);
    return { v: PROTOCOL_VERSION, dispatch: stored.record };
  }

  async list(raw: Uint8Array): Promise<{ v: typeof PROTOCOL_VERSION; dispatches: DispatchRecord[] }> {
    const body = decodeBody(raw, 'request');
    if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).length > 0) {
      throw new InvalidMessageError('invalid request: the body of mesh.dispatches.list is {}', ['body: must be {}']);
    }
    const all = await this.store.list(this.config.MESH_MAX_DISPATCHES);
    return { v: PROTOCOL_VERSION, dispatches: all.sort((a, b) => a.createdAt.localeCompare(b.createdAt)) };
  }

  /** Each dispatch's next occurrences after now (oldest dispatch first), as the timeline would fire them. */
  async upcoming(raw: Uint8Array): Promise<{ v: typeof PROTOCOL_VERSION; upcoming: DispatchUpcoming[] }> {
    const { limit } = parseDispatchUpcoming(raw);
    const now = Date.now();
    const all = (await this.store.list(this.config.MESH_MAX_DISPATCHES)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    const next = (d: DispatchRecord): string[] => {
      if (!d.active) return [];
      try {
        return Recurrence.of(d).between(now, Infinity, limit).map((t) => new Date(t).toISOString());
      } catch (err) {
        if (err instanceof RecurrenceError) return []; // stored before a rule changed: it cannot fire either
        throw err;
      }
    };
    return { v: PROTOCOL_VERSION, upcoming: all.map((d) => ({ id: d.id, occurrences: next(d) })) };
  }

  async delete(raw: Uint8Array): Promise<{ v: typeof PROTOCOL_VERSION; deleted: string }> {
    const id = idOf(raw);
    for (let conflict = 0; conflict < MAX_UPDATE_CONFLICTS; conflict++) {
      const stored = await this.store.get(id);
      if (!stored) throw notFound(id);
      if (await this.store.delete(id, stored.revision)) {
        this.announce(DispatchEventType.Deleted, stored.record);
        return { v: PROTOCOL_VERSION, deleted: id };
      }
    }
    throw new MeshError(FailureCode.OVERLOADED, `dispatch ${id} changed too often to delete; retry`);
  }

  /** What cannot be seen in the fields alone: the task exists, the recurrence is usable and fires at all. */
  private async check(record: DispatchRecord): Promise<void> {
    if (!(await this.bus.tasks.keys()).includes(record.task)) {
      throw new MeshError(FailureCode.UNKNOWN_TASK, `task: no worker has ever offered ${JSON.stringify(record.task)}`, { details: { field: 'task', task: record.task } });
    }
    let recurrence: Recurrence;
    try {
      recurrence = Recurrence.of(record);
    } catch (err) {
      if (err instanceof RecurrenceError) throw validation(err.message);
      throw err;
    }
    if (recurrence.next(-Infinity) === undefined) throw validation('recurrence: never fires (COUNT=0, or UNTIL before start)');
    // Something must still happen: an occurrence after now, or one whose duration still runs.
    if (recurrence.next(Date.now() - START_GRACE_MS - (record.duration ?? 0)) === undefined) {
      throw validation(record.recurrence === undefined
        ? `start: ${record.start} is in the past and there is no recurrence: it would never fire`
        : 'recurrence: no occurrence is left after now');
    }
  }

  private announce(event: DispatchEventType, record: DispatchRecord): void {
    this.bus.publish(this.bus.subjects.dispatchEvent(record.id), JSON.stringify(DispatchEventMessage.create(event, record)));
  }
}

function idOf(raw: Uint8Array): string {
  const body = decodeBody(raw, 'request');
  const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  const problems: string[] = [];
  if (!fields) problems.push('body: must be {"id": "..."}');
  else {
    for (const k of Object.keys(fields)) if (k !== 'id') problems.push(`unknown field "${k}"`);
    if (typeof fields['id'] !== 'string' || !DISPATCH_ID_PATTERN.test(fields['id'])) problems.push(`id: must match ${String(DISPATCH_ID_PATTERN)}`);
  }
  if (problems.length > 0) throw new InvalidMessageError(`invalid request: ${problems.join('; ')}`, problems);
  return (fields as { id: string }).id;
}

function notFound(id: string): MeshError {
  return new MeshError(FailureCode.NOT_FOUND, `no dispatch ${id}`, { details: { id } });
}

function validation(problem: string): MeshError {
  return new MeshError(FailureCode.VALIDATION_FAILED, problem, { details: { problems: [problem] } });
}

/** Field problems of a dispatch body are VALIDATION_FAILED naming the field; an unreadable body stays BAD_REQUEST. */
function asValidation<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof InvalidMessageError) || err.problems.some((p) => p.startsWith('body'))) throw err;
    throw new MeshError(FailureCode.VALIDATION_FAILED, err.message, { details: { problems: [...err.problems] } });
  }
}
