import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import type { InvocationRecord } from '@taskmesh/protocol';
import { waitFor, type AppProcess } from '@taskmesh/testing';
import { startMesh, type Mesh, type Response } from './support/mesh-fixture.js';

/** Invocations, started one every SPACING_MS, half called and half submitted. */
const INVOCATIONS = 400;
const SPACING_MS = 55;
/** How long a caller waits for one answer before it asks again with the same id (its router may be dead). */
const CALLER_PATIENCE_MS = 12_000;
/** A caller gives up only after this (the whole test must fit in about 90 s). */
const CALLER_DEADLINE_MS = 75_000;

/** What a caller saw: the outcome it was answered with, and how many times it had to ask. */
interface Seen {
  id: string;
  state: string;
  code?: string;
  asks: number;
}

/** Asks until answered: a router or orchestrator that is down, or died with the question, means "ask again". */
async function ask<T>(nc: NatsConnection, subject: string, body: unknown, timeoutMs: number, until: number, done: (r: T) => boolean): Promise<{ reply?: T; asks: number }> {
  let asks = 0;
  while (performance.now() < until) {
    asks += 1;
    try {
      const reply = (await nc.request(subject, JSON.stringify(body), { timeout: timeoutMs })).json<T>();
      if (done(reply)) return { reply, asks };
    } catch {
      // No responders (restarting) or no answer in time (it died holding the request): ask again.
    }
    await sleep(200);
  }
  return { asks };
}

// Everything dies at least once while 400 durable invocations run: workers, the orchestrator and the router are
// killed -9 (and restarted) in turn. Callers behave like real clients: a call whose router died is asked again with
// the same id; submitted work is collected with mesh.invocations.wait. The product defaults apply (timeoutMs 30 s,
// expiry 15 s, ack wait = expiry): recovery needs no generous deadline. Every invocation must end SUCCESS in its
// record; none may be lost or end TIMEOUT.
describe('no invocation lost or timed out while workers, the orchestrator and the router are killed -9', () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh({ workers: 3, orchestrators: 1, workerEnv: { MESH_WORKER_CONCURRENCY: '10' } });
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  it(`${INVOCATIONS} sleeps (300-1500 ms): all SUCCESS in their records`, async () => {
    const t0 = performance.now();
    const until = t0 + CALLER_DEADLINE_MS;
    const callers: Promise<Seen>[] = [];
    const client = async (i: number): Promise<Seen> => {
      const id = `chaos-${i}`;
      const body = { id, args: { ms: 300 + ((i * 397) % 1201) } };
      if (i % 2 === 0) {
        const { reply, asks } = await ask<Response>(mesh.nc, 'mesh.call.sleep', body, CALLER_PATIENCE_MS, until, () => true);
        return { id, state: reply?.state ?? 'NO ANSWER', code: reply?.data?.failure?.code, asks };
      }
      const submitted = await ask<Response>(mesh.nc, 'mesh.submit.sleep', body, 5_000, until, () => true);
      const waited = await ask<Response>(mesh.nc, 'mesh.invocations.wait', { id, timeoutMs: 10_000 }, CALLER_PATIENCE_MS, until, (r) => r.state === 'SUCCESS' || r.state === 'FAILURE');
      return { id, state: waited.reply?.state ?? 'NO ANSWER', code: waited.reply?.data?.failure?.code, asks: submitted.asks + waited.asks };
    };
    const load = (async () => {
      for (let i = 0; i < INVOCATIONS; i++) {
        callers.push(client(i));
        await sleep(SPACING_MS);
      }
    })();

    // The killer: one process every 2.5 s while the load runs, each restarted at once.
    const kills: string[] = [];
    const killAndRestart = async (victim: AppProcess, restart: () => Promise<AppProcess>): Promise<AppProcess> => {
      victim.kill('SIGKILL');
      await victim.exited;
      kills.push(`${victim.name}@${((performance.now() - t0) / 1000).toFixed(1)}s`);
      return restart();
    };
    let router = mesh.router;
    let orchestrator = mesh.orchestrators[0];
    let restarts = 0;
    const worker = async (name: string): Promise<void> => {
      const victim = mesh.workers.filter((w) => w.name === name).at(-1)!;
      await killAndRestart(victim, () => mesh.addWorker(name));
    };
    const plan: Array<() => Promise<void>> = [
      () => worker('w1'),
      async () => void (router = await killAndRestart(router, () => mesh.addRouter(`router-${++restarts}`))),
      () => worker('w2'),
      async () => void (orchestrator = await killAndRestart(orchestrator, () => mesh.addOrchestrator())),
      () => worker('w3'),
      async () => void (router = await killAndRestart(router, () => mesh.addRouter(`router-${++restarts}`))),
      () => worker('w1'),
      async () => void (orchestrator = await killAndRestart(orchestrator, () => mesh.addOrchestrator())),
    ];
    for (const step of plan) {
      await sleep(2_500);
      await step();
    }
    await load;
    const seen = await Promise.all(callers);
    const loadDoneS = (performance.now() - t0) / 1000;

    // The records are the truth: every one final SUCCESS.
    const records = new Map<string, InvocationRecord | undefined>();
    await waitFor(async () => {
      for (let i = 0; i < INVOCATIONS; i++) {
        const id = `chaos-${i}`;
        if (records.get(id)?.state === 'SUCCESS') continue;
        try {
          records.set(id, (await mesh.nc.request('mesh.invocations.get', JSON.stringify({ id }), { timeout: 3000 })).json<{ invocation?: InvocationRecord }>().invocation);
        } catch {
          return false;
        }
      }
      return [...records.values()].every((r) => r?.state === 'SUCCESS' || r?.state === 'FAILURE');
    }, { timeoutMs: 10_000, intervalMs: 250, what: 'every record final' }).catch(() => undefined);
    const notSuccess = [...Array(INVOCATIONS).keys()].map((i) => `chaos-${i}`).filter((id) => records.get(id)?.state !== 'SUCCESS')
      .map((id) => `${id}: ${records.get(id) ? `${records.get(id)!.state} ${records.get(id)!.failure?.code ?? ''} attempts ${records.get(id)!.attempts}` : 'no record'}`);
    const timeouts = seen.filter((s) => s.code === 'TIMEOUT').map((s) => s.id);
    const unanswered = seen.filter((s) => s.state !== 'SUCCESS').map((s) => `${s.id}: ${s.state} ${s.code ?? ''}`);
    const recovered = [...records.values()].filter((r) => (r?.attempts ?? 0) > 1).length;
    const rejected = [...records.values()].reduce((n, r) => n + (r?.rejected ?? 0), 0);
    // A call needs one question, a submit two (submit, wait); more means the caller had to ask again.
    const asked = seen.filter((s) => s.asks > (Number(s.id.slice('chaos-'.length)) % 2 === 0 ? 1 : 2)).length;
    process.stdout.write(`chaos: kills ${kills.join(', ')}; ${INVOCATIONS - notSuccess.length}/${INVOCATIONS} SUCCESS in records, `
      + `${recovered} ran again after a lost worker, ${rejected} late reports rejected, ${asked} callers had to ask again, `
      + `${timeouts.length} TIMEOUT answers, ${unanswered.length} callers without a SUCCESS answer; callers done at ${loadDoneS.toFixed(1)} s\n`);
    expect(kills).toHaveLength(plan.length);
    expect(notSuccess).toEqual([]);
    expect(timeouts).toEqual([]);
    expect(unanswered).toEqual([]);
  }, 120_000);
});
