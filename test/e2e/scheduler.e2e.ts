import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { InvocationRecord } from '@taskmesh/protocol';
import { waitFor } from '@taskmesh/testing';
import { startMesh, type Mesh, type Response } from './support/mesh-fixture.js';

interface DispatchEvent {
  event: string;
  dispatch: { id: string; args: unknown };
  occurrence?: string;
}

const ask = async <T>(nc: NatsConnection, subject: string, body: unknown): Promise<T> =>
  (await nc.request(subject, JSON.stringify(body), { timeout: 10_000 })).json<T>();

/** Records every event of one dispatch. */
function follow(nc: NatsConnection, id: string): { events: DispatchEvent[]; sub: Subscription } {
  const events: DispatchEvent[] = [];
  const sub = nc.subscribe(`mesh.events.dispatch.${id}`, { callback: (_e, m) => void events.push(m.json<DispatchEvent>()) });
  return { events, sub };
}

/** The invocations of one dispatch (ids `dispatch:<id>:<epoch ms>`), from the orchestrator's records. */
async function invocationsOf(nc: NatsConnection, id: string, task = 'sleep'): Promise<InvocationRecord[]> {
  const { invocations } = await ask<{ invocations: InvocationRecord[] }>(nc, 'mesh.invocations.list', { task, limit: 1000 });
  return invocations.filter((i) => i.id.startsWith(`dispatch:${id}:`)).sort((a, b) => a.id.localeCompare(b.id));
}

/** A whole second at least `aheadMs` from now (SECONDLY occurrences then fall on whole seconds). */
const startIn = (aheadMs: number): number => Math.ceil((Date.now() + aheadMs) / 1000) * 1000;

// Issue 5: dispatches with recurrence and duration, lifecycle and running-state events, exactly-once firing.
describe('scheduler (router + orchestrator + worker + 1 scheduler as processes)', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh({ workers: 1, orchestrators: 1, schedulers: 1, schedulerEnv: { MESH_SCHEDULER_LEASE_MS: '1500' } });
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  it('FREQ=SECONDLY;COUNT=3 with 500 ms: created, 3 started, 3 stopped, exactly 3 invocations with dispatch ids', async () => {
    const { events, sub } = follow(mesh.nc, 'three');
    await mesh.nc.flush();
    const start = startIn(1500);
    const created = await ask<{ dispatch: { id: string } }>(mesh.nc, 'mesh.dispatches.create', {
      id: 'three', task: 'sleep', args: { ms: 10 }, start: new Date(start).toISOString(), duration: 500, recurrence: 'FREQ=SECONDLY;COUNT=3',
    });
    expect(created.dispatch.id).toBe('three');
    await waitFor(() => events.filter((e) => e.event === 'stopped').length === 3, { timeoutMs: 15_000, what: '3 stopped events' });
    sub.unsubscribe();
    const occurrences = [0, 1, 2].map((i) => new Date(start + i * 1000).toISOString());
    expect(events.map((e) => [e.event, e.occurrence])).toEqual([
      ['created', undefined],
      ['started', occurrences[0]], ['stopped', occurrences[0]],
      ['started', occurrences[1]], ['stopped', occurrences[1]],
      ['started', occurrences[2]], ['stopped', occurrences[2]],
    ]);
    await waitFor(async () => (await invocationsOf(mesh.nc, 'three')).filter((i) => i.state === 'SUCCESS').length === 3, { timeoutMs: 10_000, what: '3 invocations done' });
    const invocations = await invocationsOf(mesh.nc, 'three');
    expect(invocations.map((i) => i.id)).toEqual([0, 1, 2].map((i) => `dispatch:three:${start + i * 1000}`));
    // The task saw which occurrence it was.
    expect(invocations[0].result).toMatchObject({ dispatch: { id: 'three', occurrence: occurrences[0], until: new Date(start + 500).toISOString(), dryRun: false } });
  }, 40_000);

  it('update and delete give their events; a deleted dispatch is gone', async () => {
    const { events, sub } = follow(mesh.nc, 'later');
    await mesh.nc.flush();
    const start = new Date(Date.now() + 3_600_000).toISOString();
    await ask(mesh.nc, 'mesh.dispatches.create', { id: 'later', task: 'echo', args: { n: 1 }, start });
    const updated = await ask<{ dispatch: { args: unknown; duration?: number } }>(mesh.nc, 'mesh.dispatches.update', { id: 'later', args: { n: 2 }, duration: 1000 });
    expect(updated.dispatch).toMatchObject({ args: { n: 2 }, duration: 1000 });
    expect((await ask<{ dispatch: unknown }>(mesh.nc, 'mesh.dispatches.get', { id: 'later' })).dispatch).toMatchObject({ args: { n: 2 } });
    expect((await ask<{ dispatches: { id: string }[] }>(mesh.nc, 'mesh.dispatches.list', {})).dispatches.map((d) => d.id)).toContain('later');
    expect(await ask(mesh.nc, 'mesh.dispatches.delete', { id: 'later' })).toEqual({ v: 1, deleted: 'later' });
    await waitFor(() => events.length === 3, { timeoutMs: 5000, what: '3 lifecycle events' });
    sub.unsubscribe();
    expect(events.map((e) => [e.event, e.dispatch.args])).toEqual([['created', { n: 1 }], ['updated', { n: 2 }], ['deleted', { n: 2 }]]);
    expect(await ask<Response>(mesh.nc, 'mesh.dispatches.get', { id: 'later' })).toMatchObject({ state: 'FAILURE', data: { failure: { code: 'NOT_FOUND' } } });
  }, 30_000);

  it('an update while an occurrence runs is announced at once (started again, no second submit); a delete stops it', async () => {
    const { events, sub } = follow(mesh.nc, 'running');
    await mesh.nc.flush();
    const start = new Date().toISOString();
    await ask(mesh.nc, 'mesh.dispatches.create', { id: 'running', task: 'echo', args: { n: 1 }, start, duration: 30_000 });
    await waitFor(() => events.some((e) => e.event === 'started'), { timeoutMs: 5000, what: 'the occurrence started' });
    await ask(mesh.nc, 'mesh.dispatches.update', { id: 'running', args: { n: 2 } });
    await waitFor(() => events.filter((e) => e.event === 'started').length === 2, { timeoutMs: 5000, what: 'started again with the new args' });
    await ask(mesh.nc, 'mesh.dispatches.delete', { id: 'running' });
    await waitFor(() => events.some((e) => e.event === 'stopped'), { timeoutMs: 5000, what: 'stopped by the delete' });
    sub.unsubscribe();
    const occurrence = new Date(Date.parse(start)).toISOString();
    const running = events.filter((e) => e.event === 'started' || e.event === 'stopped').map((e) => [e.event, e.occurrence, e.dispatch.args]);
    expect(running).toEqual([['started', occurrence, { n: 1 }], ['started', occurrence, { n: 2 }], ['stopped', occurrence, { n: 2 }]]);
    expect(events.filter((e) => e.event !== 'started' && e.event !== 'stopped').map((e) => e.event)).toEqual(['created', 'updated', 'deleted']);
    await waitFor(async () => (await invocationsOf(mesh.nc, 'running', 'echo')).length === 1, { timeoutMs: 5000, what: 'the invocation recorded' });
    expect((await invocationsOf(mesh.nc, 'running', 'echo')).map((i) => i.id)).toEqual([`dispatch:running:${Date.parse(start)}`]);
  }, 30_000);

  it('upcoming: each dispatch\'s next occurrences as the timeline fires them; none while inactive; a bad limit is BAD_REQUEST', async () => {
    const start = startIn(3_600_000);
    await ask(mesh.nc, 'mesh.dispatches.create', { id: 'next-daily', task: 'echo', start: new Date(start).toISOString(), recurrence: 'FREQ=DAILY' });
    await ask(mesh.nc, 'mesh.dispatches.create', { id: 'next-paused', task: 'echo', start: new Date(start).toISOString(), active: false });
    const { upcoming } = await ask<{ upcoming: Array<{ id: string; occurrences: string[] }> }>(mesh.nc, 'mesh.dispatches.upcoming', { limit: 3 });
    expect(upcoming.find((u) => u.id === 'next-daily')?.occurrences).toEqual([0, 1, 2].map((d) => new Date(start + d * 86_400_000).toISOString()));
    expect(upcoming.find((u) => u.id === 'next-paused')?.occurrences).toEqual([]);
    const bad = await ask<Response>(mesh.nc, 'mesh.dispatches.upcoming', { limit: 101 });
    expect(bad.data?.failure?.code).toBe('BAD_REQUEST');
    for (const id of ['next-daily', 'next-paused']) await ask(mesh.nc, 'mesh.dispatches.delete', { id });
  }, 20_000);

  it('refuses what would never fire or cannot run, naming the field', async () => {
    const failure = async (body: unknown): Promise<{ code: string; message: string }> => {
      const r = await ask<Response>(mesh.nc, 'mesh.dispatches.create', body);
      expect(r.state).toBe('FAILURE');
      return r.data!.failure!;
    };
    const soon = new Date(Date.now() + 60_000).toISOString();
    expect(await failure({ task: 'echo', start: soon, recurrence: 'FREQ=SOMETIMES' })).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/^recurrence:/) });
    expect(await failure({ task: 'echo', start: soon, recurrence: 'FREQ=DAILY;COUNT=0' })).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/recurrence: never fires/) });
    expect(await failure({ task: 'echo', start: '2020-01-01T00:00:00Z' })).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/^start: .* in the past/) });
    expect(await failure({ task: 'no-such-task', start: soon })).toMatchObject({ code: 'UNKNOWN_TASK', message: expect.stringMatching(/^task:/) });
    expect(await failure({ task: 'echo', start: 'tomorrow' })).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/start: must be an ISO-8601 instant/) });
    expect(await failure({ task: 'echo', start: soon, misfire: 'sometimes' })).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/misfire: must be one of skip, fire-once, fire-all/) });
    // Each refusal is counted, by operation and code.
    const started = mesh.schedulers[0].lines().find((l) => l.includes('"scheduler started"'))!;
    const metrics = await (await fetch(`http://127.0.0.1:${JSON.parse(started).httpPort as number}/metrics`)).text();
    expect(metrics).toMatch(/taskmesh_scheduler_requests_total\{[^}]*op="create"[^}]*code="VALIDATION_FAILED"[^}]*\} 5\b/);
    expect(metrics).toMatch(/taskmesh_scheduler_requests_total\{[^}]*op="create"[^}]*code="UNKNOWN_TASK"[^}]*\} 1\b/);
  }, 30_000);

  it('kill -9 of the scheduler during FREQ=SECONDLY;COUNT=5 (fire-all), restarted: exactly 5 invocations', async () => {
    const { events, sub } = follow(mesh.nc, 'five');
    await mesh.nc.flush();
    const start = startIn(1000);
    await ask(mesh.nc, 'mesh.dispatches.create', {
      id: 'five', task: 'sleep', args: { ms: 10 }, start: new Date(start).toISOString(), recurrence: 'FREQ=SECONDLY;COUNT=5', misfire: 'fire-all',
    });
    await waitFor(() => events.filter((e) => e.event === 'started').length >= 2, { timeoutMs: 10_000, what: '2 occurrences started' });
    const victim = mesh.schedulers[0];
    victim.kill('SIGKILL');
    await victim.exited;
    // Down for a few occurrences, then back (it waits for the dead replica's lease to run out).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await mesh.addScheduler();
    await waitFor(async () => (await invocationsOf(mesh.nc, 'five')).length >= 5, { timeoutMs: 20_000, what: '5 invocations' });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // nothing more may come
    sub.unsubscribe();
    const ids = (await invocationsOf(mesh.nc, 'five')).map((i) => i.id);
    expect(ids).toEqual([0, 1, 2, 3, 4].map((i) => `dispatch:five:${start + i * 1000}`));
  }, 60_000);
});

describe('scheduler replicas (2 schedulers, lease 1.5 s)', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh({ workers: 1, orchestrators: 1, schedulers: 2, schedulerEnv: { MESH_SCHEDULER_LEASE_MS: '1500' } });
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  it('the leader killed -9 during FREQ=SECONDLY;COUNT=5 (fire-all): the other takes over, exactly 5 invocations', async () => {
    const leaderOf = (): string | undefined => mesh.schedulers.find((s) => s.lines().some((l) => l.includes('"leading: firing dispatches"')))?.name;
    await waitFor(() => leaderOf() !== undefined, { timeoutMs: 10_000, what: 'a leader' });
    const { events, sub } = follow(mesh.nc, 'five-ha');
    await mesh.nc.flush();
    const start = startIn(1000);
    await ask(mesh.nc, 'mesh.dispatches.create', {
      id: 'five-ha', task: 'sleep', args: { ms: 10 }, start: new Date(start).toISOString(), recurrence: 'FREQ=SECONDLY;COUNT=5', misfire: 'fire-all',
    });
    await waitFor(() => events.filter((e) => e.event === 'started').length >= 2, { timeoutMs: 10_000, what: '2 occurrences started' });
    const leader = mesh.schedulers.find((s) => s.name === leaderOf())!;
    leader.kill('SIGKILL');
    const survivor = mesh.schedulers.find((s) => s !== leader)!;
    await survivor.waitForLine(/"leading: firing dispatches"/, 10_000);
    await waitFor(async () => (await invocationsOf(mesh.nc, 'five-ha')).length >= 5, { timeoutMs: 20_000, what: '5 invocations' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    sub.unsubscribe();
    expect((await invocationsOf(mesh.nc, 'five-ha')).map((i) => i.id)).toEqual([0, 1, 2, 3, 4].map((i) => `dispatch:five-ha:${start + i * 1000}`));
  }, 60_000);
});
