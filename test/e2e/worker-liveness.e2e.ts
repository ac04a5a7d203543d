import type { Subscription } from '@nats-io/transport-node';
import { waitFor } from '@taskmesh/testing';
import { startMesh, type Mesh, type Response } from './support/mesh-fixture.js';

const PERIOD_MS = 200;
const EXPIRES_MS = 1000;

interface WorkerEvent {
  event: 'joined' | 'expired';
  worker: string;
  receivedAt: number;
}

// A silent worker is expired within one notify period after MESH_EXPIRES_AFTER_MS; a busy one never is.
describe('worker liveness (notify 200 ms, expiry 1 s)', () => {
  let mesh: Mesh;
  let sub: Subscription;
  const events: WorkerEvent[] = [];
  const eventFor = (worker: string, event: WorkerEvent['event'], after: number): Promise<WorkerEvent> =>
    waitFor(() => events.find((e) => e.worker === worker && e.event === event && e.receivedAt >= after), { timeoutMs: 5000, what: `${event} event of ${worker}` });

  beforeAll(async () => {
    // Ack wait 2 s (it would follow the 1 s expiry): well below the 5 s spin below, with room for a loaded machine.
    mesh = await startMesh({
      workers: 1, env: { MESH_NOTIFY_PERIOD_MS: String(PERIOD_MS), MESH_EXPIRES_AFTER_MS: String(EXPIRES_MS) }, workerEnv: { MESH_ACK_WAIT_MS: '2000' },
    });
    sub = mesh.admin.subscribe('mesh.events.worker.*', {
      callback: (_e, m) => void events.push({ ...m.json<Omit<WorkerEvent, 'receivedAt'>>(), receivedAt: performance.now() }),
    });
    await mesh.admin.flush();
  }, 60_000);
  afterAll(async () => {
    sub?.unsubscribe();
    await mesh?.stop();
  }, 30_000);

  it('never lists a worker from an invalid NOTIFY, and keeps serving', async () => {
    // A NOTIFY with a bad capacity, one with an unknown field, and bytes that are not JSON (sent as the admin: only
    // workers may beat).
    const bad = [
      { v: 1, type: 'NOTIFY', worker: 'ghost', topic: 'mesh.worker.ghost', tasks: ['echo'], capacity: -1, inflight: 0, seq: 0, sentAt: new Date().toISOString() },
      { v: 1, type: 'NOTIFY', worker: 'ghost2', topic: 'mesh.worker.ghost2', tasks: ['echo'], capacity: 1, inflight: 0, seq: 0, sentAt: new Date().toISOString(), extra: 1 },
    ];
    for (const n of bad) mesh.admin.publish('mesh.notify', JSON.stringify(n));
    mesh.admin.publish('mesh.notify', new Uint8Array([0xde, 0xad]));
    await mesh.admin.flush();
    // A valid beat published after them is processed, so the bad ones were seen before it.
    const good = { v: 1, type: 'NOTIFY', worker: 'probe', topic: 'mesh.worker.probe', tasks: ['echo'], capacity: 1, inflight: 0, seq: 0, sentAt: new Date().toISOString() };
    mesh.admin.publish('mesh.notify', JSON.stringify(good));
    await waitFor(async () => (await mesh.liveWorkers()).includes('probe'), { timeoutMs: 3000, what: 'the valid beat' });
    const live = await mesh.liveWorkers();
    expect(live).not.toContain('ghost');
    expect(live).not.toContain('ghost2');
    expect((await mesh.call('echo', 'still here')).state).toBe('SUCCESS');
  }, 20_000);

  it('reports a kill -9 worker expired within 1.4 s, and drops it from the list', async () => {
    const victim = await mesh.addWorker('doomed');
    await waitFor(async () => (await mesh.liveWorkers()).includes('doomed'), { timeoutMs: 5000, what: 'doomed listed' });
    const killedAt = performance.now();
    victim.kill('SIGKILL');
    const expired = await eventFor('doomed', 'expired', killedAt);
    expect(expired.receivedAt - killedAt).toBeLessThan(1400);
    expect(await mesh.liveWorkers()).not.toContain('doomed');
  }, 30_000);

  it('expires a SIGSTOPped worker and welcomes it back after SIGCONT', async () => {
    const frozen = await mesh.addWorker('frozen');
    await waitFor(async () => (await mesh.liveWorkers()).includes('frozen'), { timeoutMs: 5000, what: 'frozen listed' });
    const stoppedAt = performance.now();
    frozen.kill('SIGSTOP');
    try {
      await eventFor('frozen', 'expired', stoppedAt);
      expect(await mesh.liveWorkers()).not.toContain('frozen');
    } finally {
      frozen.kill('SIGCONT');
    }
    const resumedAt = performance.now();
    await eventFor('frozen', 'joined', resumedAt);
    await waitFor(async () => (await mesh.liveWorkers()).includes('frozen'), { timeoutMs: 5000, what: 'frozen listed again' });
    // And it works again.
    expect((await mesh.call('echo', 'thawed')).state).toBe('SUCCESS');
  }, 30_000);

  it('never expires a worker whose task saturates its CPU for 5 s, and its beat stays on time', async () => {
    const beats = new Map<string, number[]>();
    const notify = mesh.admin.subscribe('mesh.notify', {
      callback: (_e, m) => {
        const worker = m.json<{ worker: string }>().worker;
        beats.set(worker, [...(beats.get(worker) ?? []), performance.now()]);
      },
    });
    // The ack wait (2 s) is shorter than the spin: only in-progress acks from the heartbeat thread keep the blocked
    // worker's message from being redelivered while it runs.
    const starts: number[] = [];
    let runningAt = Infinity;
    const running = mesh.admin.subscribe('mesh.events.invocation.spin-1', {
      callback: (_e, m) => {
        const e = m.json<{ state: string; attempt?: number }>();
        if (e.state === 'RUNNING') {
          starts.push(e.attempt ?? 1);
          runningAt = Math.min(runningAt, performance.now());
        }
      },
    });
    await mesh.admin.flush();
    const spinStart = performance.now();
    const r = (await mesh.request('spin', { args: { ms: 5000 }, id: 'spin-1', timeoutMs: 20_000 }, 25_000)).json<Response>();
    const spinEnd = performance.now();
    notify.unsubscribe();
    expect(r.state).toBe('SUCCESS');
    // A call through the same (only) worker: once it is answered, the worker has read everything sent to it before,
    // a redelivery included, and would have started it at once.
    expect((await mesh.call('echo', 'barrier')).state).toBe('SUCCESS');
    running.unsubscribe();
    expect(starts).toEqual([1]);
    // The start was reported as it happened, not held back by the task that then blocked the worker for 5 s.
    expect(runningAt - spinStart).toBeLessThan(2_000);
    // Whichever worker ran it: its main thread was blocked for 5 s, its heartbeat thread was not.
    const spinner = (r.data?.result as { worker: string }).worker;
    expect(events.filter((e) => e.worker === spinner && e.event === 'expired' && e.receivedAt >= spinStart)).toEqual([]);
    expect(await mesh.liveWorkers()).toContain(spinner);
    const during = (beats.get(spinner) ?? []).filter((t) => t >= spinStart && t <= spinEnd);
    const gaps = during.slice(1).map((t, i) => t - during[i]);
    expect(gaps.length).toBeGreaterThanOrEqual(20);
    expect(Math.max(...gaps)).toBeLessThan(1.2 * PERIOD_MS);
  }, 40_000);
});
