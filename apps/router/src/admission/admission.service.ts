import { Inject, Injectable, Logger } from '@nestjs/common';
import { MeshHeader, RequestState, seedRecord, type CallLink, type InvocationRecord, type RequestMessage } from '@taskmesh/protocol';
import { MESH_BUS, type MeshBus } from '@taskmesh/nats';
import { judgeClaim, judgeHolder, listChild, MAX_REGISTRATION_ROUNDS, planAdmission, registrationRace, type CallToAdmit } from './admission.js';
import { StrandedWork } from './stranded-work.js';

/** How a call was admitted. A refusal (CYCLE_DETECTED, OVERLOADED) is thrown as a MeshError instead. */
export type Admitted =
  /**
   * A new invocation: queue `message` with `headers` (plus the caller's transport headers). `recording`, when
   * set, is the record being created alongside (a submit with a generated id): await it before answering. Never
   * rejects.
   */
  | { kind: 'queue'; message: RequestMessage; headers: Record<string, string>; recording?: Promise<void> }
  /** Not a new invocation: answer as invocation `id` (the same id repeated, or the live holder of its registration). */
  | { kind: 'existing'; id: string };

/**
 * Admission of durable calls: dedup by caller-chosen id, registration concurrency, cycles and child links. It
 * performs the decisions of admission.ts against the invocations and claims buckets; every write here is
 * create-only or revision-checked (docs/ARCHITECTURE.md, "Who writes invocation records and claims").
 */
@Injectable()
export class AdmissionService {
  private readonly log = new Logger('Admission');

  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    private readonly stranded: StrandedWork,
  ) {}

  /** Admits one call: queue it, or answer it as an existing invocation; throws the refusal otherwise. */
  async admit(call: CallToAdmit): Promise<Admitted> {
    const plan = planAdmission(call, Date.now());
    if (plan.kind === 'refuse') throw plan.error;
    if (plan.kind === 'record-with-work') {
      const recording = plan.createAlongside ? this.createAlongside(plan.record) : undefined;
      return { kind: 'queue', message: plan.message, headers: { [MeshHeader.Record]: JSON.stringify(plan.record) }, ...(recording ? { recording } : {}) };
    }
    if (!(await this.bus.invocations.create(plan.record))) {
      // The id exists: a repeat. Its first router may have died before queueing it.
      await this.stranded.requeue(call.id, call.request);
      return { kind: 'existing', id: call.id };
    }
    if (plan.registration !== undefined) {
      let live: string | undefined;
      try {
        live = await this.register(plan.registration, call.id, call.request.chain);
      } catch (err) {
        // Refused (or the claims could not be read): never queued, so its record must not wait for a start.
        await this.discard(call.id);
        throw err;
      }
      if (live !== undefined) {
        await this.discard(call.id);
        return { kind: 'existing', id: live };
      }
    }
    if (plan.parentId !== undefined) await this.linkChild(plan.parentId, call.id, call.parentRecord);
    return { kind: 'queue', message: plan.message, headers: {} };
  }

  /**
   * Registration concurrency: claims `key` for invocation `id`. Resolves undefined when `id` is now the live
   * invocation for the key, or the id of the live one to reuse; throws the refusal (CYCLE_DETECTED, OVERLOADED).
   */
  private async register(key: string, id: string, chain: readonly CallLink[] | undefined): Promise<string | undefined> {
    const claim = { id, at: new Date().toISOString() };
    for (let round = 0; round < MAX_REGISTRATION_ROUNDS; round++) {
      const found = judgeClaim(id, chain, await this.bus.claims.claim(key, claim));
      if (found.kind === 'registered') return undefined;
      if (found.kind === 'refuse') throw found.error;
      const stored = await this.bus.invocations.get(found.holder);
      const verdict = judgeHolder(found.holder, found.revision, stored?.record);
      if (verdict.kind === 'reuse') return verdict.id;
      if (await this.bus.claims.takeOver(key, claim, verdict.revision)) return undefined;
    }
    throw registrationRace(key).error;
  }

  /**
   * Removes the record this call created a moment ago and will never queue, at the revision read and only while it
   * is untouched (WAITING, never started): one cancelled meanwhile stays, final, as its canceller was told.
   */
  private async discard(id: string): Promise<void> {
    try {
      const stored = await this.bus.invocations.get(id);
      if (stored?.record.state === RequestState.WAITING && stored.record.attempts === 0) await this.bus.invocations.delete(id, stored.revision);
    } catch (err) {
      // Left WAITING: the janitor ends it TIMEOUT at its deadline.
      this.log.warn({ msg: 'could not remove the record of a call not queued', invocationId: id, err: String(err) });
    }
  }

  /** Lists `childId` among its parent's children (revision-checked read-modify-write). */
  private async linkChild(parentId: string, childId: string, parentRecord: string | undefined): Promise<void> {
    try {
      if ((await this.bus.invocations.modify(parentId, (parent) => listChild(parent, childId))) !== undefined) return;
      // No record yet: a parent with a generated id is recorded from its first event, which the recorder may not
      // have applied. Create it from the first record its work came with, the child listed (create-only: if the
      // recorder wins, list the child in what it wrote).
      const seed = parentRecord === undefined ? undefined : seedRecord(parentRecord, parentId);
      if (seed === undefined) return;
      if (await this.bus.invocations.create(listChild(seed, childId) ?? seed)) return;
      await this.bus.invocations.modify(parentId, (parent) => listChild(parent, childId));
    } catch (err) {
      // The child's own record names its parent; the parent's list is a convenience.
      this.log.warn({ msg: 'could not list a child in its parent', parentId, invocationId: childId, err: String(err) });
    }
  }

  /** Creates a generated id's record while its work is queued (create-only: the recorder may create it first). */
  private async createAlongside(record: InvocationRecord): Promise<void> {
    await this.bus.invocations.create(record).catch((err: unknown) => this.log.error({ msg: 'could not record invocation', invocationId: record.id, err: String(err) }));
  }
}
