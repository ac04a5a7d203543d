import type { NatsConnection } from '@nats-io/transport-node';
import type { InvocationRecord } from '@taskmesh/protocol';
import { waitFor } from '@taskmesh/testing';
import { startMesh, type Mesh, type Response } from './support/mesh-fixture.js';

const get = async (nc: NatsConnection, id: string): Promise<InvocationRecord | undefined> =>
  (await nc.request('mesh.invocations.get', JSON.stringify({ id }), { timeout: 10_000 })).json<{ invocation?: InvocationRecord }>().invocation;

interface RunInfo {
  worker: string;
  startedAt: string;
  finishedAt: string;
  attempt: number;
  invocationId: string;
}

const result = <T>(r: Response): T => {
  if (r.state !== 'SUCCESS') throw new Error(`expected SUCCESS, got ${JSON.stringify(r)}`);
  return r.data?.result as T;
};

/** Whether two [startedAt, finishedAt] runs overlap in time. */
const overlap = (a: RunInfo, b: RunInfo): boolean => Date.parse(a.startedAt) < Date.parse(b.finishedAt) && Date.parse(b.startedAt) < Date.parse(a.finishedAt);

// Issue 4 (second part): concurrency controls declared on the task (after pynenc), child calls, cycles.
describe('concurrency controls (router + orchestrator + 2 workers as processes)', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh({ workers: 2, orchestrators: 1, workerEnv: { MESH_WORKER_CONCURRENCY: '4' } });
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  it('registration: calls while an invocation with the same key arguments is live share it; after it ends a new one starts', async () => {
    // `report` declares registration concurrency on its `name` argument; `ms` is not part of the key.
    const first = mesh.call('report', { name: 'q3', ms: 3000 });
    // Running, so its claim is in place (the router records, then claims, then queues): a call racing the first one's
    // claim could win it, finish in 1 ms, and leave a third call nothing live to share.
    const listed = async (): Promise<InvocationRecord[]> =>
      (await mesh.nc.request('mesh.invocations.list', JSON.stringify({ task: 'report' }), { timeout: 10_000 })).json<{ invocations: InvocationRecord[] }>().invocations;
    await waitFor(async () => (await listed()).some((r) => r.state === 'RUNNING'), { timeoutMs: 5000, what: 'the first report running' });
    const [a, b, c, other] = await Promise.all([first, mesh.call('report', { name: 'q3', ms: 1 }), mesh.call('report', { name: 'q3', ms: 2 }), mesh.call('report', { name: 'q4', ms: 10 })]);
    expect(new Set([a.id, b.id, c.id]).size).toBe(1);
    expect(result<RunInfo>(b)).toEqual(result<RunInfo>(a));
    expect(other.id).not.toBe(a.id);
    // Ended: the next call is a new invocation (the claim was released or is found stale).
    const again = await mesh.call('report', { name: 'q3', ms: 1 });
    expect(again).toMatchObject({ state: 'SUCCESS' });
    expect(again.id).not.toBe(a.id);
    // Reused calls left no records of their own.
    expect((await listed()).map((r) => r.id).sort()).toEqual([a.id, other.id, again.id].sort());
  }, 30_000);

  it('running: one at a time per key argument across workers, the others wait without using an attempt', async () => {
    // `exclusive` declares running concurrency on `resource`: 4 on "db" must not overlap (2 s in all), "cache"
    // runs alongside them.
    const calls = [
      ...Array.from({ length: 4 }, () => mesh.call('exclusive', { resource: 'db', ms: 500 }, { timeoutMs: 20_000 })),
      ...Array.from({ length: 2 }, () => mesh.call('exclusive', { resource: 'cache', ms: 300 }, { timeoutMs: 20_000 })),
    ];
    const runs = (await Promise.all(calls)).map((r) => result<RunInfo & { resource: string }>(r));
    const db = runs.filter((r) => r.resource === 'db');
    for (let i = 0; i < db.length; i++) for (let j = i + 1; j < db.length; j++) expect(overlap(db[i], db[j])).toBe(false);
    const cache = runs.filter((r) => r.resource === 'cache');
    expect(cache.some((c) => db.some((d) => overlap(c, d)))).toBe(true);
    expect(runs.every((r) => r.attempt === 1)).toBe(true);
  }, 40_000);

  it('child calls: the parent lists its children, each child names its parent', async () => {
    const r = await mesh.call('fanout', { count: 3, ms: 50 });
    const children = result<{ children: RunInfo[] }>(r).children;
    expect(children).toHaveLength(3);
    await waitFor(async () => (await get(mesh.nc, r.id!))?.state === 'SUCCESS', { timeoutMs: 5000, what: 'parent recorded' });
    const parent = await get(mesh.nc, r.id!);
    expect([...parent!.children].sort()).toEqual(children.map((c) => c.invocationId).sort());
    for (const c of children) expect(await get(mesh.nc, c.invocationId)).toMatchObject({ parentId: r.id, task: 'sleep' });
  }, 30_000);

  it('a call chain that loops back to an ancestor fails at once with CYCLE_DETECTED', async () => {
    // chain {2, cycleTo 2} -> chain {1} -> chain {0} -> chain {2, cycleTo 2} again: it would wait on itself.
    const started = performance.now();
    const r = await mesh.call('chain', { depth: 2, cycleTo: 2 }, { timeoutMs: 20_000 });
    expect(r).toMatchObject({ state: 'FAILURE', data: { failure: { code: 'CYCLE_DETECTED', retryable: false } } });
    expect(r.data?.failure?.message).toMatch(/chain -> chain -> chain -> chain/);
    expect(performance.now() - started).toBeLessThan(5000);
    // Recursion with different arguments is no cycle.
    expect(result<{ path: string[] }>(await mesh.call('chain', { depth: 3 })).path).toHaveLength(4);
  }, 30_000);
});

describe('child calls on a pool of one slot (router + orchestrator + 1 worker, concurrency 1)', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh({ workers: 1, orchestrators: 1, workerEnv: { MESH_WORKER_CONCURRENCY: '1', LOG_LEVEL: 'debug' } });
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  it('a parent waiting for its children holds no slot, so one slot finishes the whole tree', async () => {
    // With the slot held by the waiting parent this would deadlock until the timeout.
    const fan = await mesh.call('fanout', { count: 3, ms: 100 }, { timeoutMs: 15_000 });
    if (fan.state !== 'SUCCESS') console.log(mesh.workers[0].lines().slice(-60).join('\n'), mesh.router.lines().slice(-20).join('\n'));
    expect(result<{ children: RunInfo[] }>(fan).children.map((c) => c.worker)).toEqual(['w1', 'w1', 'w1']);
    const deep = await mesh.call('chain', { depth: 4 }, { timeoutMs: 15_000 });
    if (deep.state !== 'SUCCESS') console.log(mesh.workers[0].lines().slice(-60).join('\n'), mesh.router.lines().slice(-20).join('\n'));
    expect(result<{ path: string[] }>(deep).path).toHaveLength(5);
  }, 40_000);
});
