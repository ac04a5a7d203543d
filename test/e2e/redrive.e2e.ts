import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { InvalidMessageError, MeshClient, NotFoundError, type InvocationRecord, type ResponseMessage } from '@taskmesh/client';
import { Role } from '@taskmesh/protocol';
import { waitFor } from '@taskmesh/testing';
import { startMesh, type Mesh, type Response } from './support/mesh-fixture.js';

/** The demo `fail` (apps/worker/src/demo/demo.tasks.ts): 3 attempts; it fails retryably before attempt `untilAttempt`, then succeeds. */
const failUntil = (untilAttempt: number) => ({ message: 'not yet', retryable: true, untilAttempt });

const collect = async (events: AsyncIterable<ResponseMessage>): Promise<ResponseMessage[]> => {
  const seen: ResponseMessage[] = [];
  for await (const e of events) seen.push(e);
  return seen;
};

// Issue 14: a dead letter is put back on the work queue as a new attempt of the same invocation, exactly once even
// when redrives race; `story` reads what the workers' cores logged about an invocation.
describe('dead-letter redrive and invocation story', () => {
  let mesh: Mesh;
  let client: MeshClient;
  /** RUNNING reports per invocation and attempt, as the workers published them: one per run. */
  const runs = new Map<string, number>();

  beforeAll(async () => {
    // Two orchestrators: two racing redrives are served by either, or both.
    mesh = await startMesh({ workers: 2, orchestrators: 2 });
    // Redrive is an operator's action: the admin's.
    const { user, pass } = mesh.server.login(Role.Admin);
    client = await MeshClient.connect({ servers: mesh.server.url, user, password: pass });
    mesh.admin.subscribe('mesh.events.invocation.*', {
      callback: (_e, m) => {
        const r = m.json<Response>();
        if (r.state === 'RUNNING') runs.set(`${r.id}#${r.attempt}`, (runs.get(`${r.id}#${r.attempt}`) ?? 0) + 1);
      },
    });
    await mesh.admin.flush();
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await mesh?.stop();
  }, 30_000);

  /** Submits `fail` until attempt 4: its 3 attempts fail, and it is dead-lettered with a final FAILURE (attempts 3). */
  const deadLettered = async (id: string): Promise<void> => {
    await client.submit('fail', failUntil(4), { id });
    await waitFor(async () => {
      const record = await client.get(id).catch(() => undefined);
      if (record?.state !== 'FAILURE') return false;
      return (await client.deadLetters({ limit: 1000 })).some((d) => (d.body as { id?: string }).id === id);
    }, { timeoutMs: 20_000, intervalMs: 200, what: `${id} dead-lettered` });
  };

  it('runs a dead letter once when two redrives race; the new attempt 4 succeeds, and wait and events see it', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => `race-${i}`);
    await Promise.all(ids.map(deadLettered));
    for (const id of ids) expect(await client.get(id)).toMatchObject({ state: 'FAILURE', attempts: 3 });

    // Both redrives of each dead letter at once.
    const replies = await Promise.all(ids.flatMap((id) => [client.redrive({ id }), client.redrive({ id })]));
    for (const id of ids) {
      const mine = replies.filter((r) => r.redriven.includes(id) || r.skipped.some((s) => s.id === id));
      expect(mine).toHaveLength(2);
      expect(mine.filter((r) => r.redriven.includes(id))).toHaveLength(1);
    }

    for (const id of ids) expect(await client.wait<{ attempt: number }>(id, { timeoutMs: 20_000 })).toEqual({ attempt: 4 });
    // Nothing of them is left to run: no work queued or held, so no second run can come.
    const jsm = await jetstreamManager(mesh.admin);
    await waitFor(async () => (await jsm.streams.info('MESH_WORK')).state.messages === 0, { timeoutMs: 10_000, what: 'the work queue empty' });
    for (const id of ids) {
      expect(runs.get(`${id}#4`)).toBe(1);
      expect(runs.get(`${id}#5`)).toBeUndefined();
      const record: InvocationRecord = await waitFor(async () => {
        const r = await client.get(id);
        return r.state === 'SUCCESS' ? r : undefined;
      }, { timeoutMs: 5_000, what: `${id} recorded SUCCESS` });
      expect(record).toMatchObject({ attempts: 4, result: { attempt: 4 }, redrive: { afterAttempt: 3, count: 1 } });
      expect(record.failure).toBeUndefined();
    }
    // The dead letters are gone.
    const left = (await client.deadLetters({ limit: 1000 })).filter((d) => ids.includes((d.body as { id?: string }).id ?? ''));
    expect(left).toEqual([]);

    // Followed from the start, the events go past the FAILURE that the redrive reopened, to the new outcome.
    const events = await collect(client.events(ids[0]));
    const seen = events.map((e) => `${e.state}${e.state === 'EVENT' ? `:${e.event?.eventType}` : ''}@${e.attempt ?? '-'}`);
    expect(seen.slice(-4)).toEqual(['FAILURE@3', 'EVENT:redriven@-', 'RUNNING@4', 'SUCCESS@4']);
    expect(events.filter((e) => e.isFinal)).toHaveLength(2);
  }, 120_000);

  it('finishes a redrive whose orchestrator stopped between writing the record and queueing the work', async () => {
    await deadLettered('half-1');
    const letter = (await client.deadLetters({ limit: 1000 })).find((d) => (d.body as { id?: string }).id === 'half-1')!;
    // What a redrive writes first (the fence), and then nothing: no event, no work, the dead letter still there.
    const kv = await new Kvm(mesh.admin).open('MESH_INVOCATIONS');
    const entry = (await kv.get('half-1'))!;
    const { failure: _failure, finishedAt: _finishedAt, deadline: _deadline, ...kept } = entry.json<InvocationRecord>();
    const redrive = { deadLetterSeq: letter.seq, afterAttempt: kept.attempts, at: new Date().toISOString(), count: 1 };
    await kv.update('half-1', JSON.stringify({ ...kept, state: 'WAITING', redrive }), entry.revision);

    // Redriving it again queues the work once; the redrive stays the first one's.
    expect(await client.redrive({ id: 'half-1' })).toEqual({ redriven: [], skipped: [{ id: 'half-1', reason: 'already redriven' }] });
    expect(await client.wait<{ attempt: number }>('half-1', { timeoutMs: 20_000 })).toEqual({ attempt: 4 });
    expect(runs.get('half-1#4')).toBe(1);
    expect((await client.deadLetters({ limit: 1000 })).some((d) => d.seq === letter.seq)).toBe(false);
  }, 60_000);

  it('skips what it cannot redrive, and says why', async () => {
    // race-0 succeeded after its redrive: no dead letter is left.
    expect(await client.redrive({ id: 'race-0' })).toEqual({ redriven: [], skipped: [{ id: 'race-0', reason: 'no dead letter of this invocation' }] });
    expect(await client.redrive({ id: 'never-was' })).toEqual({ redriven: [], skipped: [{ id: 'never-was', reason: 'no dead letter of this invocation' }] });
  }, 30_000);

  it('redrives every dead letter of a task with {all, task}', async () => {
    const ids = ['all-1', 'all-2'];
    await Promise.all(ids.map(deadLettered));
    const reply = await client.redrive({ all: true, task: 'fail' });
    expect(reply.redriven.sort()).toEqual(ids);
    for (const id of ids) expect(await client.wait(id, { timeoutMs: 20_000 })).toEqual({ attempt: 4 });
    expect(await client.redrive({ all: true, task: 'echo' })).toEqual({ redriven: [], skipped: [] });
  }, 60_000);

  it('answers BAD_REQUEST for bad input', async () => {
    for (const body of ['[]', '{}', '{"all":false}', '{"id":"a b"}', '{"id":"x","all":true}', '{"all":true,"task":"no.dots"}', '{"all":true,"limit":3}']) {
      const r = (await mesh.admin.request('mesh.deadletters.redrive', body, { timeout: 5000 })).json<Response>();
      expect(r).toMatchObject({ state: 'FAILURE', data: { failure: { code: 'BAD_REQUEST' } } });
    }
    await expect(client.redrive({ id: '' })).rejects.toBeInstanceOf(InvalidMessageError);
  }, 30_000);

  it('tells the story of a retried invocation: both attempts, by time, from the workers that ran them', async () => {
    await client.submit('fail', failUntil(2), { id: 'story-1' });
    expect(await client.wait('story-1', { timeoutMs: 20_000 })).toEqual({ attempt: 2 });
    const story = await client.story('story-1');
    expect(story.id).toBe('story-1');
    expect(story.missing).toBeUndefined();
    // Every line about the work's message (its ref) knows its attempt.
    expect(story.entries.filter((e) => e.attempt === undefined && e.detail?.['ref'] !== undefined)).toEqual([]);
    expect(new Set(story.entries.map((e) => e.attempt).filter((a) => a !== undefined))).toEqual(new Set([1, 2]));
    for (const attempt of [1, 2]) {
      const types = story.entries.filter((e) => e.attempt === attempt).map((e) => `${e.kind}:${e.type}`);
      expect(types).toEqual(expect.arrayContaining(['stimulus:work-received', 'instruction:execute', 'stimulus:task-finished']));
    }
    const times = story.entries.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(story.workers.length).toBeGreaterThanOrEqual(1);
    expect(story.workers.every((w) => ['w1', 'w2'].includes(w))).toBe(true);
  }, 30_000);

  it('tells a redriven invocation\'s story across the redrive, and a story of no invocation is NOT_FOUND', async () => {
    const story = await client.story('race-1');
    expect(new Set(story.entries.map((e) => e.attempt).filter((a) => a !== undefined))).toEqual(new Set([1, 2, 3, 4]));
    expect(story.entries.some((e) => e.attempt === 4 && e.type === 'work-received' && e.detail?.['redrivenAfter'] === 3)).toBe(true);
    await expect(client.story('never-was')).rejects.toBeInstanceOf(NotFoundError);
  }, 30_000);

  it('says which attempts nobody remembers once the worker that ran them is gone', async () => {
    const before = await client.story('story-1');
    const ranFirst = before.entries.find((e) => e.attempt === 1)!.worker;
    const ranSecond = before.entries.find((e) => e.attempt === 2)!.worker;
    mesh.workers.find((w) => w.name === ranFirst)!.kill('SIGKILL');
    const after = await waitFor(async () => {
      const story = await client.story('story-1');
      return story.workers.includes(ranFirst) ? undefined : story;
    }, { timeoutMs: 10_000, what: `${ranFirst} gone from the story` });
    // Attempt 1 is missing; attempt 2 too when the same worker ran it (the record names its worker).
    expect(after.missing).toEqual(ranSecond === ranFirst ? [{ attempt: 1 }, { attempt: 2, worker: ranSecond }] : [{ attempt: 1 }]);
    expect(after.entries.every((e) => e.worker !== ranFirst)).toBe(true);
  }, 30_000);
});
