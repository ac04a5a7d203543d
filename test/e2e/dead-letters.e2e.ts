import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { InvocationRecord } from '#protocol';
import { waitFor } from '#testing';
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
    await jetstream(mesh.nc).publish('mesh.work.echo', '{"this is":"not a REQUEST"}');
    const letter = await waitFor(async () => (await deadLetters(mesh)).find((d) => d.task === 'invalid'), { timeoutMs: 10_000, what: 'the invalid message dead-lettered' });
    expect(letter.reason).toMatch(/^invalid request: /);
    expect(letter.body).toEqual({ 'this is': 'not a REQUEST' });
    // The term follows the copy: the work queue empties right after.
    const jsm = await jetstreamManager(mesh.nc);
    await waitFor(async () => (await jsm.streams.info('MESH_WORK')).state.messages === 0, { timeoutMs: 5000, what: 'the work queue empty' });
  }, 30_000);

  it('answers BAD_REQUEST for a bad list request', async () => {
    const r = (await mesh.nc.request('mesh.deadletters.list', '{"limit":0}', { timeout: 5000 })).json<Response>();
    expect(r.data?.failure?.code).toBe('BAD_REQUEST');
  });
});
