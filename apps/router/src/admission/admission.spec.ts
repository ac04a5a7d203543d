import { argsDigest, CallRequest, newInvocationRecord, RequestState, TaskConcurrency, type CallLink, type InvocationRecord } from '@taskmesh/protocol';
import type { TaskTraits } from '@taskmesh/client';
import {
  cycleRefusal, judgeClaim, judgeHolder, listChild, MAX_CHILDREN_LISTED, planAdmission, registrationRace, type AdmissionPlan, type CallToAdmit,
} from './admission.js';

const T0 = Date.parse('2026-12-03T10:00:00.000Z');
const link = (id: string, task: string, args: unknown): CallLink => ({ id, task, digest: argsDigest(args) });
const traits = (concurrency?: Parameters<typeof TaskConcurrency.create>[0]): TaskTraits => ({ idempotent: false, ...(concurrency ? { concurrency: TaskConcurrency.create(concurrency) } : {}) });
const admit = (fields: Parameters<typeof CallRequest.create>[0] = {}, more: Partial<CallToAdmit> = {}): CallToAdmit => {
  const request = CallRequest.create({ args: { n: 1 }, timeoutMs: 5000, ...fields });
  return { mode: 'call', task: 'echo', id: request.id ?? 'inv-generated', request, traits: undefined, ...more };
};
const plan = <K extends AdmissionPlan['kind']>(p: AdmissionPlan, kind: K): Extract<AdmissionPlan, { kind: K }> => {
  expect(p.kind).toBe(kind);
  return p as Extract<AdmissionPlan, { kind: K }>;
};
const record = (state: RequestState, fields: Partial<InvocationRecord> = {}): InvocationRecord =>
  ({ ...newInvocationRecord({ id: 'inv-live', task: 'report', createdAt: new Date(T0).toISOString() }), state, ...fields });

describe(planAdmission.name, () => {
  it('a generated id with nothing to check: the record travels with the work, as the work says it (WAITING, deadline from timeoutMs)', () => {
    const p = plan(planAdmission(admit({ key: 'k1' }), T0), 'record-with-work');
    expect(p.createAlongside).toBe(false);
    expect(p.record).toEqual(newInvocationRecord({ id: 'inv-generated', task: 'echo', argsDigest: argsDigest({ n: 1 }), key: 'k1', createdAt: new Date(T0).toISOString(), deadline: T0 + 5000 }));
    expect(p.message).toMatchObject({ id: 'inv-generated', task: 'echo', args: { n: 1 }, key: 'k1', deadline: T0 + 5000, createdAt: new Date(T0).toISOString() });
    expect(p.message.parentId).toBeUndefined();
  });

  it('a submit with a generated id also creates its record while its work is queued (its answer promises one)', () => {
    expect(plan(planAdmission(admit({}, { mode: 'submit' }), T0), 'record-with-work').createAlongside).toBe(true);
  });

  it('a caller-chosen id is recorded first (create-only dedup), with no claim and no parent', () => {
    const p = plan(planAdmission(admit({ id: 'order-1' }), T0), 'record-first');
    expect(p).not.toHaveProperty('registration');
    expect(p).not.toHaveProperty('parentId');
    expect(p.record).toMatchObject({ id: 'order-1', state: 'WAITING', attempts: 0, children: [] });
    expect(p.message.id).toBe('order-1');
    expect(plan(planAdmission(admit({ id: 'order-1' }, { mode: 'submit' }), T0), 'record-first').record.id).toBe('order-1');
  });

  it.each([
    ['task', 'reg.echo'],
    ['args', `reg.echo.${argsDigest({ n: 1 })}`],
  ] as const)('registration concurrency by %s: recorded first, whatever the id, with the key on the record', (registration, key) => {
    for (const fields of [{}, { id: 'order-1' }]) {
      const p = plan(planAdmission(admit(fields, { traits: traits({ registration }) }), T0), 'record-first');
      expect(p.registration).toBe(key);
      expect(p.record.registration).toBe(key);
    }
  });

  it('registration by key arguments: calls that differ only in other arguments share the key', () => {
    const keyed = traits({ registration: 'keys', keyArgs: ['name'] });
    const a = plan(planAdmission(admit({ args: { name: 'q3', ms: 1 } }, { traits: keyed }), T0), 'record-first');
    const b = plan(planAdmission(admit({ args: { name: 'q3', ms: 2 } }, { traits: keyed }), T0), 'record-first');
    expect(a.registration).toBe(b.registration);
    expect(a.record.argsDigest).not.toBe(b.record.argsDigest);
  });

  it('running concurrency alone, or none declared, is no business of admission', () => {
    expect(planAdmission(admit({}, { traits: traits({ running: 'task' }) }), T0).kind).toBe('record-with-work');
    expect(planAdmission(admit({}, { traits: traits({ registration: 'none' }) }), T0).kind).toBe('record-with-work');
  });

  it('a child call is recorded first and names its caller (the last link of the chain) as its parent', () => {
    const chain = [link('inv-root', 'fanout', { all: true }), link('inv-parent', 'fanout', { part: 1 })];
    const p = plan(planAdmission(admit({ chain }), T0), 'record-first');
    expect(p.parentId).toBe('inv-parent');
    expect(p.record.parentId).toBe('inv-parent');
    expect(p.message).toMatchObject({ parentId: 'inv-parent', chain });
  });

  it('refuses with CYCLE_DETECTED a call equal to an ancestor (same task and arguments), before anything is written', () => {
    const chain = [link('inv-root', 'echo', { n: 1 }), link('inv-parent', 'fanout', { n: 1 })];
    const p = plan(planAdmission(admit({ chain }), T0), 'refuse');
    expect(p.error).toMatchObject({ code: 'CYCLE_DETECTED', details: { task: 'echo', ancestor: 'inv-root', path: ['inv-root', 'inv-parent'] } });
    expect(p.error.message).toContain('echo -> fanout -> echo');
  });

  it('the same task with other arguments, or other tasks with the same arguments, is no cycle', () => {
    expect(planAdmission(admit({ chain: [link('inv-root', 'echo', { n: 2 })] }), T0).kind).toBe('record-first');
    expect(planAdmission(admit({ chain: [link('inv-root', 'other', { n: 1 })] }), T0).kind).toBe('record-first');
    expect(cycleRefusal(undefined, 'echo', argsDigest({ n: 1 }))).toBeUndefined();
  });
});

describe(judgeClaim.name, () => {
  const held = (id: string, revision = 7) => ({ claim: { id, at: new Date(T0).toISOString() }, revision });

  it('the create won, or the key is already this invocation\'s (a repeat): registered', () => {
    expect(judgeClaim('inv-new', undefined, undefined)).toEqual({ kind: 'registered' });
    expect(judgeClaim('inv-new', undefined, held('inv-new'))).toEqual({ kind: 'registered' });
  });

  it('another invocation holds it: read that holder before reusing it or taking the key over at the revision read', () => {
    expect(judgeClaim('inv-new', undefined, held('inv-live', 9))).toEqual({ kind: 'check-holder', holder: 'inv-live', revision: 9 });
    expect(judgeClaim('inv-new', [link('inv-root', 'fanout', {})], held('inv-live'))).toMatchObject({ kind: 'check-holder' });
  });

  it('the holder is up the caller\'s chain: reusing it would wait on itself, CYCLE_DETECTED', () => {
    const verdict = judgeClaim('inv-new', [link('inv-root', 'fanout', {}), link('inv-live', 'report', { name: 'q3' })], held('inv-live'));
    expect(verdict).toMatchObject({ kind: 'refuse', error: { code: 'CYCLE_DETECTED', details: { reuses: 'inv-live' } } });
  });
});

describe(judgeHolder.name, () => {
  it.each([RequestState.WAITING, RequestState.PENDING, RequestState.RUNNING])('a live holder (%s) is reused', (state) => {
    expect(judgeHolder('inv-live', 4, record(state))).toEqual({ kind: 'reuse', id: 'inv-live' });
  });

  it('a holder that ended, or whose record is gone (purged), left a stale claim: taken over at the revision read', () => {
    expect(judgeHolder('inv-live', 4, record(RequestState.SUCCESS, { attempts: 1, result: 1 }))).toEqual({ kind: 'take-over', revision: 4 });
    expect(judgeHolder('inv-live', 4, record(RequestState.FAILURE, { failure: { code: 'CANCELLED', message: 'x', retryable: false } }))).toEqual({ kind: 'take-over', revision: 4 });
    expect(judgeHolder('inv-live', 4, undefined)).toEqual({ kind: 'take-over', revision: 4 });
  });
});

describe(listChild.name, () => {
  it('lists a child once, without changing the record it was given', () => {
    const parent = record(RequestState.RUNNING, { attempts: 1 });
    const listed = listChild(parent, 'inv-child');
    expect(listed?.children).toEqual(['inv-child']);
    expect(parent.children).toEqual([]);
    expect(listChild(listed!, 'inv-child')).toBeUndefined();
  });

  it('lists at most MAX_CHILDREN_LISTED (the rest name their parent in their own records)', () => {
    const full = record(RequestState.RUNNING, { children: Array.from({ length: MAX_CHILDREN_LISTED }, (_, i) => `inv-c${i}`) });
    expect(listChild(full, 'inv-one-more')).toBeUndefined();
    expect(listChild({ ...full, children: full.children.slice(1) }, 'inv-one-more')?.children).toHaveLength(MAX_CHILDREN_LISTED);
  });
});

describe(registrationRace.name, () => {
  it('is OVERLOADED: retry later', () => {
    expect(registrationRace('reg.report').error).toMatchObject({ code: 'OVERLOADED', retryable: true });
  });
});
