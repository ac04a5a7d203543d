import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  DispatchCreateRequest, DispatchDeletedReplyMessage, DispatchEvent, DispatchEventMessage, DispatchIdRequest, DispatchListReplyMessage,
  DispatchListRequest, DispatchMessage, DispatchReplyMessage, DispatchUpdateRequest, encodeMessage, NotFoundError, OverloadedError,
  UnknownTaskError, ValidationFailedError, type DispatchDefinition,
} from '#protocol';
import { MESH_BUS, type MeshBus } from '#nats';
import { APP_CONFIG } from '#runtime';
import type { SchedulerConfig } from '../scheduler.config.js';
import { checkDefinition, definitionOf } from './definition-check.js';

/** Revision conflicts an update retries before answering OVERLOADED (another writer keeps changing it). */
const MAX_UPDATE_CONFLICTS = 5;

/**
 * `mesh.dispatches.*`: validates each request at the edge (shape, then recurrence, then the task), writes the
 * dispatches bucket, and publishes the lifecycle event (`created`, `updated`, `deleted`) once the write is done.
 * Whichever replica serves the request answers it; only the leader fires (SchedulerService).
 */
@Injectable()
export class DispatchesService {
  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(APP_CONFIG) private readonly config: SchedulerConfig,
  ) {}

  async create(raw: Uint8Array): Promise<DispatchReplyMessage> {
    const request = DispatchCreateRequest.parse(raw);
    const now = Date.now();
    const { id: wanted, ...definition } = request;
    await this.check(definition, now, true);
    if ((await this.bus.dispatches.count()) >= this.config.MESH_SCHEDULER_MAX_DISPATCHES) {
      throw new OverloadedError(`at most ${this.config.MESH_SCHEDULER_MAX_DISPATCHES} dispatches (MESH_SCHEDULER_MAX_DISPATCHES); delete some first`);
    }
    const at = new Date(now).toISOString();
    const dispatch = DispatchMessage.create({ ...definition, id: wanted ?? randomUUID(), createdAt: at, updatedAt: at });
    if (!(await this.bus.dispatches.create(dispatch))) {
      throw new ValidationFailedError(`invalid dispatch: id: dispatch ${dispatch.id} exists already`, [`id: dispatch ${dispatch.id} exists already`]);
    }
    this.publish(DispatchEvent.Created, dispatch);
    return new DispatchReplyMessage(dispatch);
  }

  async update(raw: Uint8Array): Promise<DispatchReplyMessage> {
    const request = DispatchUpdateRequest.parse(raw);
    for (let conflict = 0; conflict < MAX_UPDATE_CONFLICTS; conflict++) {
      const stored = await this.bus.dispatches.get(request.id);
      if (!stored) throw new NotFoundError(`no dispatch ${request.id}`, { details: { id: request.id } });
      const now = Date.now();
      const merged = merge(definitionOf(stored.dispatch), request);
      await this.check(merged, now, merged.task !== stored.dispatch.task);
      const dispatch = DispatchMessage.create({ ...merged, id: request.id, createdAt: stored.dispatch.createdAt, updatedAt: new Date(Math.max(now, Date.parse(stored.dispatch.updatedAt) + 1)).toISOString() });
      if (await this.bus.dispatches.update(dispatch, stored.revision)) {
        this.publish(DispatchEvent.Updated, dispatch);
        return new DispatchReplyMessage(dispatch);
      }
    }
    throw new OverloadedError(`dispatch ${request.id} changed too often to update; retry`);
  }

  async get(raw: Uint8Array): Promise<DispatchReplyMessage> {
    const { id } = DispatchIdRequest.parse(raw);
    const stored = await this.bus.dispatches.get(id);
    if (!stored) throw new NotFoundError(`no dispatch ${id}`, { details: { id } });
    return new DispatchReplyMessage(stored.dispatch);
  }

  async list(raw: Uint8Array): Promise<DispatchListReplyMessage> {
    const request = DispatchListRequest.parse(raw);
    // Bounded by MESH_SCHEDULER_MAX_DISPATCHES; filtered here (an index by task is future work).
    const all = await this.bus.dispatches.list(this.config.MESH_SCHEDULER_MAX_DISPATCHES);
    return new DispatchListReplyMessage(all.filter((d) => request.task === undefined || d.task === request.task).slice(0, request.limit));
  }

  async delete(raw: Uint8Array): Promise<DispatchDeletedReplyMessage> {
    const { id } = DispatchIdRequest.parse(raw);
    const stored = await this.bus.dispatches.get(id);
    if (!stored || !(await this.bus.dispatches.delete(id))) throw new NotFoundError(`no dispatch ${id}`, { details: { id } });
    this.publish(DispatchEvent.Deleted, stored.dispatch);
    return new DispatchDeletedReplyMessage(id);
  }

  private async check(definition: DispatchDefinition, now: number, checkTask: boolean): Promise<void> {
    checkDefinition(definition, now);
    if (checkTask && !(await this.bus.tasks.keys()).includes(definition.task)) {
      throw new UnknownTaskError(`task ${definition.task} was never offered by any worker`, { details: { task: definition.task } });
    }
  }

  private publish(event: DispatchEvent, dispatch: DispatchMessage): void {
    this.bus.publish(this.bus.subjects.dispatchEvent(dispatch.id), encodeMessage(DispatchEventMessage.create(event, dispatch)));
  }
}

/** The definition after an update: given fields replace, `null`-ed ones are removed, the rest stay. */
function merge(current: DispatchDefinition, request: DispatchUpdateRequest): DispatchDefinition {
  const next: Record<string, unknown> = { ...current };
  for (const field of ['task', 'args', 'key', 'start', 'duration', 'recurrence', 'timezone', 'active', 'dryRun', 'misfire'] as const) {
    if (Object.hasOwn(request, field)) next[field] = request[field];
  }
  for (const field of request.cleared) delete next[field];
  for (const [k, v] of Object.entries(next)) if (v === undefined) delete next[k];
  return next as unknown as DispatchDefinition;
}
