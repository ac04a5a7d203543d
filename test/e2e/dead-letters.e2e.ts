import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { InvocationRecord } from '@taskmesh/protocol';
import { waitFor } from '@taskmesh/testing';
import { startMesh, type Mesh, type Response } from './support/mesh-fixture.js';

interface DeadLetter {
  seq: number;
  task: string;
  reason: string;
  deliveries?: number;
  body: { id?: string } | string;
}

const deadLetters = async (mesh: Mesh): Promise<DeadLetter[]> =>
  (await mesh.nc.request('mesh.deadletters.list', '{"limit":1000}', { timeout: 5000 })).json<{ deadLetters: DeadLetter[] }>().deadLetters;

// Issue 4: work that exhausts its attempts, and invalid messages found on the work stream, are copied with
// reason headers to the dead-letter stream before they are removed, and can be listed.
describe('dead letters', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh({ workers: 2, orchestrators: 1, workerEnv: { MESH_WORKER_CONCURRENCY: '32' } });
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  it('puts exactly the 50 always-failing tasks among 500 good ones in the dead-letter stream', async () => {
    const good = Array.from({ length: 500 }, (_, i) => `good-${i}`);
    const bad = Array.from({ length: 50 }, (_, i) => `bad-${i}`);
    const jobs = [...good.map((id) => ({ id, task: 'echo', args: { id } })), ...bad.map((id) => ({ id, task: 'fail', args: { message: 'always', retryable: true } }))];
    // Interleave them.
    jobs.sort((a, b) => (a.id.length * 7919 + Number(a.id.split('-')[1])) % 13 - (b.id.length * 7919 + Number(b.id.split('-')[1])) % 13);
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        const r = (await mesh.nc.request(`mesh.submit.${job.task}`, JSON.stringify({ args: job.args, id: job.id }), { timeout: 10_000 })).json<Response>();
        expect(r.state).toBe('WAITING');
      }
    }));
    await waitFor(async () => {
      const records = await Promise.all(jobs.map(async (j) => (await mesh.nc.request('mesh.invocations.get', JSON.stringify({ id: j.id }), { timeout: 5000 })).json<{ invocation?: InvocationRecord }>().invocation));
      return records.every((r) => r?.state === 'SUCCESS' || r?.state === 'FAILURE');
    }, { timeoutMs: 60_000, intervalMs: 1000, what: 'all 550 final' });
    const letters = (await deadLetters(mesh)).filter((d) => d.task !== 'invalid');
    expect(letters.map((d) => (d.body as { id: string }).id).sort()).toEqual([...bad].sort());
    expect(letters.every((d) => d.task === 'fail' && d.deliveries === 3 && d.reason.startsWith('attempts exhausted (3)'))).toBe(true);
  }, 120_000);

  it('copies an invalid message found on the work stream, with the reason, and removes it from the queue', async () => {
    // Forged on the work stream behind the router's back: only the admin may.
    await jetstream(mesh.admin).publish('mesh.work.echo', '{"this is":"not a REQUEST"}');
    const letter = await waitFor(async () => (await deadLetters(mesh)).find((d) => d.task === 'invalid'), { timeoutMs: 10_000, what: 'the invalid message dead-lettered' });
    expect(letter.reason).toMatch(/^invalid request: /);
    expect(letter.body).toEqual({ 'this is': 'not a REQUEST' });
    // The term follows the copy: the work queue empties right after.
    const jsm = await jetstreamManager(mesh.admin);
    await waitFor(async () => (await jsm.streams.info('MESH_WORK')).state.messages === 0, { timeoutMs: 5000, what: 'the work queue empty' });
  }, 30_000);

  it('answers BAD_REQUEST for a bad list request', async () => {
    const r = (await mesh.nc.request('mesh.deadletters.list', '{"limit":0}', { timeout: 5000 })).json<Response>();
    expect(r.data?.failure?.code).toBe('BAD_REQUEST');
  });
});

// A poison message: every worker that takes it dies. After MESH_MAX_DELIVER deliveries JetStream stops delivering
// it and leaves it in the queue (it says so, in an advisory, the next time the task is pulled); the orchestrator (from JetStream's max-deliveries advisory) must dead-letter it,
// record its final FAILURE and answer the waiting caller, so the invocation still ends exactly once.
describe('work whose every worker is killed (max deliver 2, ack wait 1 s)', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh({ workers: 2, orchestrators: 1, workerEnv: { MESH_MAX_DELIVER: '2', MESH_ACK_WAIT_MS: '1000' } });
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  it('is dead-lettered, failed with WORKER_LOST, answered, and removed from the queue', async () => {
    const running: Response[] = [];
    const sub = mesh.admin.subscribe('mesh.events.invocation.poison-1', {
      callback: (_e, m) => {
        const r = m.json<Response>();
        if (r.state === 'RUNNING') running.push(r);
      },
    });
    await mesh.admin.flush();
    const call = mesh.request('sleep', { args: { ms: 60_000 }, id: 'poison-1', timeoutMs: 60_000 }, 65_000).then((m) => m.json<Response>());
    for (const attempt of [1, 2]) {
      await waitFor(() => running.length >= attempt, { timeoutMs: 10_000, what: `attempt ${attempt} running` });
      mesh.workers.find((w) => w.name === running[attempt - 1].worker)!.kill('SIGKILL');
    }
    // The pool replaces its dead workers; JetStream notices the exhausted message when the task is pulled again.
    await mesh.addWorker('w3');
    const answer = await call;
    sub.unsubscribe();
    expect(answer).toMatchObject({ id: 'poison-1', state: 'FAILURE', data: { failure: { code: 'WORKER_LOST', retryable: false } } });
    await waitFor(async () => {
      const rec = (await mesh.nc.request('mesh.invocations.get', '{"id":"poison-1"}', { timeout: 5000 })).json<{ invocation: InvocationRecord }>().invocation;
      return rec.state === 'FAILURE' && rec.failure?.code === 'WORKER_LOST';
    }, { timeoutMs: 10_000, what: 'the record FAILURE' });
    const letters = (await deadLetters(mesh)).filter((d) => typeof d.body === 'object' && d.body.id === 'poison-1');
    expect(letters).toEqual([expect.objectContaining({ task: 'sleep', deliveries: 2, reason: expect.stringMatching(/deliveries exhausted/) })]);
    const jsm = await jetstreamManager(mesh.admin);
    expect((await jsm.streams.info('MESH_WORK')).state.messages).toBe(0);
  }, 60_000);
});
