import { argsDigest, CallRequest, MeshError, newInvocationRecord, RequestState, TaskConcurrency, type InvocationRecord } from '@taskmesh/protocol';
import type { Claim, ConcurrencyClaims, HeldClaim, InvocationStore, MeshBus, StoredInvocation } from '@taskmesh/nats';
import type { TaskTraits } from '@taskmesh/client';
import { MAX_REGISTRATION_ROUNDS, type CallToAdmit } from './admission.js';
import { AdmissionService } from './admission.service.js';
import type { StrandedWork } from './stranded-work.js';

// The admission shell on in-memory buckets with revisions (what the KV buckets promise: create-only, update at a
// revision), no NATS: what it writes, in which cases, and how it answers.

/** The invocations bucket: one sequence of revisions, as a stream has. */
class MemoryInvocations implements Pick<InvocationStore, 'create' | 'get' | 'modify' | 'delete'> {
  readonly records = new Map<string, StoredInvocation>();
  private seq = 0;

  async create(record: InvocationRecord): Promise<boolean> {
    if (this.records.has(record.id)) return false;
    this.records.set(record.id, { record, revision: ++this.seq });
    return true;
  }

  async get(id: string): Promise<StoredInvocation | undefined> {
    return this.records.get(id);
  }

  async modify(id: string, change: (record: InvocationRecord) => InvocationRecord | undefined): Promise<InvocationRecord | undefined> {
    const stored = this.records.get(id);
    if (!stored) return undefined;
    const next = change(stored.record);
    if (next === undefined) return stored.record;
    this.records.set(id, { record: next, revision: ++this.seq });
    return next;
  }

  async delete(id: string, revision?: number): Promise<boolean> {
    const stored = this.records.get(id);
    if (!stored || (revision !== undefined && stored.revision !== revision)) return false;
    return this.records.delete(id);
  }
}

/** The claims bucket; `stolen` makes the next n take-overs lose their race (another claimant moved first). */
class MemoryClaims implements Pick<ConcurrencyClaims, 'claim' | 'takeOver'> {
  readonly held = new Map<string, HeldClaim>();
  stolen = 0;
  private seq = 0;

  async claim(key: string, claim: Claim): Promise<HeldClaim | undefined> {
    const held = this.held.get(key);
    if (held) return held;
    this.held.set(key, { claim, revision: ++this.seq });
    return undefined;
  }

  async takeOver(key: string, claim: Claim, revision: number): Promise<boolean> {
    if (this.stolen > 0) {
      this.stolen -= 1;
      this.held.set(key, { claim: { id: `inv-thief-${this.stolen}`, at: claim.at }, revision: ++this.seq });
      return false;
    }
    if (this.held.get(key)?.revision !== revision) return false;
    this.held.set(key, { claim, revision: ++this.seq });
    return true;
  }
}

function setup() {
  const invocations = new MemoryInvocations();
  const claims = new MemoryClaims();
  const requeued: string[] = [];
  const bus = { invocations, claims } as unknown as MeshBus;
  const stranded = { requeue: async (id: string) => void requeued.push(id) } as unknown as StrandedWork;
  return { admission: new AdmissionService(bus, stranded), invocations, claims, requeued };
}

const T0 = '2026-12-03T10:00:00.000Z';
const registered: TaskTraits = { idempotent: false, concurrency: TaskConcurrency.create({ registration: 'keys', keyArgs: ['name'] }) };
const REG = `reg.report.${argsDigest({ name: 'q3' })}`;
const call = (fields: Parameters<typeof CallRequest.create>[0] = {}, more: Partial<CallToAdmit> = {}): CallToAdmit => {
  const request = CallRequest.create({ args: { name: 'q3', ms: 1 }, timeoutMs: 5000, ...fields });
  return { mode: 'call', task: 'report', id: request.id ?? 'inv-new', request, traits: undefined, ...more };
};
const existing = (id: string, state: RequestState, fields: Partial<InvocationRecord> = {}): InvocationRecord =>
  ({ ...newInvocationRecord({ id, task: 'report', createdAt: T0 }), state, ...fields });
const holdBy = (claims: MemoryClaims, id: string): void => void claims.held.set(REG, { claim: { id, at: T0 }, revision: 100 });

describe(AdmissionService.name, () => {
  it('a generated id: nothing is written before queueing, the record travels in the Mesh-Record header', async () => {
    const { admission, invocations } = setup();
    const admitted = await admission.admit(call());
    expect(admitted).toMatchObject({ kind: 'queue', message: { id: 'inv-new', task: 'report' } });
    if (admitted.kind !== 'queue') return;
    expect(JSON.parse(admitted.headers['Mesh-Record']!)).toMatchObject({ id: 'inv-new', state: 'WAITING', attempts: 0 });
    expect(admitted.recording).toBeUndefined();
    expect(invocations.records.size).toBe(0);
  });

  it('a submit with a generated id creates its record alongside the queueing, and that creation may lose to the recorder', async () => {
    const { admission, invocations } = setup();
    const admitted = await admission.admit(call({}, { mode: 'submit' }));
    if (admitted.kind !== 'queue') throw new Error('not queued');
    await admitted.recording;
    expect(invocations.records.get('inv-new')?.record).toMatchObject({ state: 'WAITING' });
    // The recorder created it first from the worker's RUNNING: the router's create finds it and changes nothing.
    const again = setup();
    await again.invocations.create(existing('inv-raced', RequestState.RUNNING, { attempts: 1 }));
    const raced = await again.admission.admit(call({}, { mode: 'submit', id: 'inv-raced' }));
    if (raced.kind !== 'queue') throw new Error('not queued');
    await raced.recording;
    expect(again.invocations.records.get('inv-raced')?.record.state).toBe('RUNNING');
  });

  it('a caller-chosen id: recorded first, then queued with no record header', async () => {
    const { admission, invocations } = setup();
    expect(await admission.admit(call({ id: 'order-1' }))).toMatchObject({ kind: 'queue', headers: {} });
    expect(invocations.records.get('order-1')?.record).toMatchObject({ state: 'WAITING', deadline: expect.any(Number) });
  });

  it('a caller-chosen id seen before: answered as that invocation, its work queued again if it was stranded, nothing written', async () => {
    const { admission, invocations, requeued } = setup();
    await invocations.create(existing('order-1', RequestState.RUNNING, { attempts: 1 }));
    const before = invocations.records.get('order-1');
    expect(await admission.admit(call({ id: 'order-1' }))).toEqual({ kind: 'existing', id: 'order-1' });
    expect(requeued).toEqual(['order-1']);
    expect(invocations.records.get('order-1')).toBe(before);
  });

  it('registration free: the record names its key, the claim names the record, then it is queued', async () => {
    const { admission, invocations, claims } = setup();
    expect(await admission.admit(call({}, { traits: registered }))).toMatchObject({ kind: 'queue' });
    expect(invocations.records.get('inv-new')?.record.registration).toBe(REG);
    expect(claims.held.get(REG)?.claim.id).toBe('inv-new');
  });

  it.each([RequestState.WAITING, RequestState.RUNNING])('registration held by a live invocation (%s): answered as it, the record just created removed, the claim left', async (state) => {
    const { admission, invocations, claims } = setup();
    await invocations.create(existing('inv-live', state));
    holdBy(claims, 'inv-live');
    expect(await admission.admit(call({ args: { name: 'q3', ms: 2 } }, { traits: registered }))).toEqual({ kind: 'existing', id: 'inv-live' });
    expect([...invocations.records.keys()]).toEqual(['inv-live']);
    expect(claims.held.get(REG)?.claim.id).toBe('inv-live');
  });

  it('registration held by an ended invocation, or one whose record is gone: the stale claim is taken over', async () => {
    for (const holder of [existing('inv-old', RequestState.SUCCESS, { attempts: 1, result: 1 }), undefined]) {
      const { admission, invocations, claims } = setup();
      if (holder) await invocations.create(holder);
      holdBy(claims, 'inv-old');
      expect(await admission.admit(call({}, { traits: registered }))).toMatchObject({ kind: 'queue' });
      expect(claims.held.get(REG)?.claim.id).toBe('inv-new');
      expect(invocations.records.get('inv-new')).toBeDefined();
    }
  });

  it('a lost take-over race is judged again: the winner is live now, so it is reused', async () => {
    const { admission, invocations, claims } = setup();
    holdBy(claims, 'inv-old');
    claims.stolen = 1; // another call takes the stale claim over first: inv-thief-0
    await invocations.create(existing('inv-thief-0', RequestState.WAITING));
    expect(await admission.admit(call({}, { traits: registered }))).toEqual({ kind: 'existing', id: 'inv-thief-0' });
  });

  it(`registration changing hands ${MAX_REGISTRATION_ROUNDS} times while claiming it: OVERLOADED, and the record it created goes`, async () => {
    const { admission, invocations, claims } = setup();
    holdBy(claims, 'inv-old');
    claims.stolen = MAX_REGISTRATION_ROUNDS; // each thief's record is gone by the time it is read
    await expect(admission.admit(call({ id: 'order-1' }, { traits: registered }))).rejects.toMatchObject({ code: 'OVERLOADED' });
    // Never queued: no record is left waiting for a start, so the caller's retry with the same id is admitted afresh.
    expect(invocations.records.has('order-1')).toBe(false);
  });

  it('a record cancelled between its creation and a reuse is kept (final, as its canceller was told)', async () => {
    const { admission, invocations, claims } = setup();
    await invocations.create(existing('inv-live', RequestState.RUNNING, { attempts: 1 }));
    holdBy(claims, 'inv-live');
    const claim = claims.claim.bind(claims);
    claims.claim = async (key, c) => {
      await invocations.modify(c.id, (r) => ({ ...r, state: RequestState.FAILURE, failure: { code: 'CANCELLED', message: 'cancelled before it started', retryable: false } }));
      return claim(key, c);
    };
    expect(await admission.admit(call({ id: 'order-1' }, { traits: registered }))).toEqual({ kind: 'existing', id: 'inv-live' });
    expect(invocations.records.get('order-1')?.record.failure?.code).toBe('CANCELLED');
  });

  it('registration held by an invocation up the caller\'s chain: CYCLE_DETECTED, its claim untouched, the record just created removed', async () => {
    const { admission, invocations, claims } = setup();
    await invocations.create(existing('inv-live', RequestState.RUNNING, { attempts: 1 }));
    holdBy(claims, 'inv-live');
    const chain = [{ id: 'inv-live', task: 'report', digest: argsDigest({ name: 'q3', ms: 9 }) }];
    const refused = admission.admit(call({ id: 'inv-live-1' }, { traits: registered, request: CallRequest.create({ id: 'inv-live-1', args: { name: 'q3', ms: 1 }, chain }) }));
    await expect(refused).rejects.toBeInstanceOf(MeshError);
    await expect(refused).rejects.toMatchObject({ code: 'CYCLE_DETECTED', details: { reuses: 'inv-live' } });
    expect(claims.held.get(REG)?.claim.id).toBe('inv-live');
    expect([...invocations.records.keys()]).toEqual(['inv-live']);
  });

  it('a cycle by task and arguments is refused before anything is written', async () => {
    const { admission, invocations } = setup();
    const chain = [{ id: 'inv-parent', task: 'report', digest: argsDigest({ name: 'q3', ms: 1 }) }];
    await expect(admission.admit(call({ id: 'inv-parent-1', chain }))).rejects.toMatchObject({ code: 'CYCLE_DETECTED' });
    expect(invocations.records.size).toBe(0);
  });

  it('a child call is recorded, then listed in its parent\'s record (once), then queued', async () => {
    const { admission, invocations } = setup();
    await invocations.create(existing('inv-parent', RequestState.RUNNING, { attempts: 1 }));
    const chain = [{ id: 'inv-parent', task: 'fanout', digest: argsDigest({}) }];
    expect(await admission.admit(call({ id: 'inv-parent-1', chain }))).toMatchObject({ kind: 'queue', message: { parentId: 'inv-parent' } });
    expect(invocations.records.get('inv-parent-1')?.record.parentId).toBe('inv-parent');
    expect(invocations.records.get('inv-parent')?.record.children).toEqual(['inv-parent-1']);
  });

  it('a child of a parent not recorded yet creates the parent\'s record from the first record its work came with, the child listed', async () => {
    const { admission, invocations } = setup();
    const seed = newInvocationRecord({ id: 'inv-gen', task: 'fanout', createdAt: T0, deadline: Date.parse(T0) + 30_000 });
    const chain = [{ id: 'inv-gen', task: 'fanout', digest: argsDigest({}) }];
    expect(await admission.admit(call({ id: 'inv-gen-0', chain }, { parentRecord: JSON.stringify(seed) }))).toMatchObject({ kind: 'queue' });
    expect(invocations.records.get('inv-gen')?.record).toEqual({ ...seed, children: ['inv-gen-0'] });
    // The next child finds the record and is listed in it; a first record of another invocation creates nothing.
    await admission.admit(call({ id: 'inv-gen-1', chain }, { parentRecord: JSON.stringify(seed) }));
    expect(invocations.records.get('inv-gen')?.record.children).toEqual(['inv-gen-0', 'inv-gen-1']);
    const other = [{ id: 'inv-other', task: 'fanout', digest: argsDigest({}) }];
    await admission.admit(call({ id: 'inv-other-0', chain: other }, { parentRecord: JSON.stringify(seed) }));
    expect(invocations.records.has('inv-other')).toBe(false);
  });

  it('a child whose parent the recorder creates at the same moment is listed in the record the recorder wrote', async () => {
    const { admission, invocations } = setup();
    const seed = newInvocationRecord({ id: 'inv-gen', task: 'fanout', createdAt: T0 });
    // The recorder's create lands between admission's read (none) and its create.
    const modify = invocations.modify.bind(invocations);
    let first = true;
    invocations.modify = async (id, change) => {
      const result = await modify(id, change);
      if (first) {
        first = false;
        await invocations.create({ ...seed, state: RequestState.RUNNING, attempts: 1 });
      }
      return result;
    };
    await admission.admit(call({ id: 'inv-gen-0', chain: [{ id: 'inv-gen', task: 'fanout', digest: argsDigest({}) }] }, { parentRecord: JSON.stringify(seed) }));
    expect(invocations.records.get('inv-gen')?.record).toMatchObject({ state: 'RUNNING', attempts: 1, children: ['inv-gen-0'] });
  });

  it('a child whose parent\'s record cannot be changed is still queued (its own record names its parent)', async () => {
    const { admission, invocations } = setup();
    invocations.modify = async () => {
      throw new Error('10 revision conflicts in a row');
    };
    const chain = [{ id: 'inv-parent', task: 'fanout', digest: argsDigest({}) }];
    expect(await admission.admit(call({ chain }))).toMatchObject({ kind: 'queue' });
    expect(invocations.records.get('inv-new')?.record.parentId).toBe('inv-parent');
  });
});
