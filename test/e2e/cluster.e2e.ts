// A 3-node JetStream cluster on loopback: the mesh's streams and buckets get 3 replicas (MESH_REPLICAS=3), work is
// called under load, the work stream's leader is killed with kill -9 mid-load, and every call still ends SUCCESS:
// 0 lost, 0 failed. The apps reconnect to the surviving nodes; the killed node is restarted and catches up.
// docs/ARCHITECTURE.md, "JetStream cluster", has the failure model and the numbers.
import { jest } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { MeshClient, MeshError } from '@taskmesh/client';
import { Role } from '@taskmesh/protocol';
import { permissionViolations, ProcessGroup, spawnApp, startNatsCluster, waitFor, type AppProcess, type NatsCluster } from '@taskmesh/testing';

jest.setTimeout(180_000);

const CALLS = 400;
const IN_FLIGHT = 16;

describe('3-node JetStream cluster', () => {
  const group = new ProcessGroup();
  let cluster: NatsCluster;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let apps: AppProcess[] = [];
  const callerLogin = (): { user: string; password: string } => {
    const { user, pass } = cluster.login(Role.Caller);
    return { user, password: pass };
  };
  /** The apps' warnings and errors, but for the topology notes every app logs at boot. */
  const warnings = (): string[] => apps.flatMap((a) => a.lines().filter((l) => /"level":(40|50)/.test(l) && !/"(stream|bucket) \w+ (created|unchanged)"/.test(l)).map((l) => `${a.name}: ${l.slice(0, 300)}`));

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    nc = await connect({ servers: cluster.urls.split(','), ...cluster.login(Role.Admin), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    jsm = await jetstreamManager(nc, { checkAPI: false });
    await waitFor(async () => (await jsm.getAccountInfo().catch(() => undefined)) !== undefined, { timeoutMs: 30_000, what: 'JetStream to elect its meta leader' });
    // A 3 s expiry period (and so a 3 s ack wait, derived from it): deliveries the dying leader sent but no worker
    // received come back within it, well inside the calls' 30 s deadline (docs/ARCHITECTURE.md, "JetStream cluster").
    const env = {
      MESH_REPLICAS: '3', MESH_HTTP_PORT: '0', MESH_NOTIFY_PERIOD_MS: '1000', MESH_EXPIRES_AFTER_MS: '3000',
    };
    const started = (p: AppProcess, app: string): Promise<string> => p.waitForLine(new RegExp(`"${app} started"`), 60_000);
    const router = group.add(spawnApp('router', { ...cluster.appEnv(Role.Router), ...env }, { name: 'router' }));
    await started(router, 'router');
    const rest = [
      group.add(spawnApp('orchestrator', { ...cluster.appEnv(Role.Orchestrator), ...env }, { name: 'orchestrator' })),
      group.add(spawnApp('worker', { ...cluster.appEnv(Role.Worker), ...env, MESH_WORKER_ID: 'w1' }, { name: 'w1' })),
      group.add(spawnApp('worker', { ...cluster.appEnv(Role.Worker), ...env, MESH_WORKER_ID: 'w2' }, { name: 'w2' })),
    ];
    await Promise.all(rest.map((p) => started(p, p.name.startsWith('w') ? 'worker' : p.name)));
    apps = [router, ...rest];
  });

  afterAll(async () => {
    await nc?.close().catch(() => undefined);
    await group.stopAll();
    await cluster?.stop();
    // Every app ran as its own role through the kill and the elections: none was refused anything.
    expect(permissionViolations({ logFiles: cluster?.servers.map((s) => s.logFile) ?? [], apps })).toEqual([]);
  });

  it('every stream and bucket has 3 replicas', async () => {
    for (const name of ['MESH_WORK', 'MESH_EVENTS', 'KV_MESH_INVOCATIONS', 'KV_MESH_TASKS', 'MESH_DLQ']) {
      const info = await jsm.streams.info(name);
      expect([name, info.config.num_replicas, (info.cluster?.replicas ?? []).length + 1]).toEqual([name, 3, 3]);
    }
  });

  it('serves calls and submits through the cluster, with every node listed in NATS_URL', async () => {
    const client = await MeshClient.connect({ servers: cluster.urls, ...callerLogin(), connectAttempts: 5 });
    try {
      expect(await client.call('echo', { on: 'cluster' })).toEqual({ on: 'cluster' });
      const id = await client.submit('echo', { n: 1 }, { id: 'cluster-submit' });
      expect(await client.wait(id)).toEqual({ n: 1 });
    } finally {
      await client.close();
    }
  });

  it('0 lost and 0 failed when the work stream leader is killed mid-load; the node rejoins after a restart', async () => {
    const client = await MeshClient.connect({ servers: cluster.urls, ...callerLogin(), connectAttempts: 5 });
    try {
      const leaderName = (await jsm.streams.info('MESH_WORK')).cluster?.leader;
      const leader = cluster.servers.find((s) => leaderName === `taskmesh-test-${s.port}`)!;
      expect(leader).toBeDefined();
      const outcomes = new Map<string, string>();
      let retried = 0;
      let next = 0;
      let killedAt = -1;
      // A caller that is told "try again" (a retryable failure, or no answer in time while JetStream elects a new
      // leader) asks again with the same id: the same id never runs twice, so a retry is safe.
      const one = async (i: number): Promise<void> => {
        const id = `cluster-${i}`;
        for (let attempt = 1; attempt <= 20; attempt++) {
          try {
            // The default deadline (30 s): work delivered by the dying leader but never received is redelivered after
            // the ack wait (15 s), plus the election; a deadline shorter than that could end such work TIMEOUT.
            const result = await client.call('echo', { i }, { id });
            outcomes.set(id, (result as { i: number }).i === i ? 'SUCCESS' : 'WRONG');
            return;
          } catch (err) {
            if (!(err instanceof MeshError) || !err.retryable) {
              outcomes.set(id, `${(err as MeshError).code ?? 'ERROR'}: ${(err as Error).message}`);
              return;
            }
            retried += 1;
            await new Promise((r) => setTimeout(r, 250));
          }
        }
        outcomes.set(id, 'GAVE UP');
      };
      const lanes = Array.from({ length: IN_FLIGHT }, async () => {
        while (next < CALLS) {
          const i = next++;
          if (i === Math.floor(CALLS / 3)) {
            killedAt = performance.now();
            leader.kill('SIGKILL');
          }
          await one(i);
        }
      });
      await Promise.all(lanes);
      const failed = [...outcomes.entries()].filter(([, o]) => o !== 'SUCCESS');
      console.log(`cluster: ${CALLS} calls, killed ${leaderName} after ${Math.floor(CALLS / 3)}, ${retried} retries, new leader ${(await jsm.streams.info('MESH_WORK')).cluster?.leader}, ${Math.round(performance.now() - killedAt)} ms from the kill to the last answer`);
      // On failure, what each failed call's record says, beside the apps' warnings and errors.
      if (failed.length > 0) {
        for (const [id, outcome] of failed) console.log('failed', id, outcome, JSON.stringify(await client.get(id).catch((e: unknown) => String(e))));
        console.log(warnings().join('\n'));
      }
      expect(outcomes.size).toBe(CALLS);
      expect(failed).toEqual([]);
      // The records catch up too (the orchestrator's consumer of the events stream moved with its leader).
      const sample = Array.from({ length: 21 }, (_, k) => `cluster-${Math.min(CALLS - 1, k * 20)}`).concat(`cluster-${Math.floor(CALLS / 3)}`);
      try {
        await waitFor(async () => (await Promise.all(sample.map((id) => client.get(id)))).every((r) => r.state === 'SUCCESS'), {
          timeoutMs: 30_000, what: 'the sampled records to say SUCCESS',
        });
      } catch (err) {
        for (const id of sample) console.log('sampled', id, JSON.stringify(await client.get(id).catch((e: unknown) => String(e))));
        console.log(warnings().join('\n'));
        throw err;
      }

      // The apps are still up and serve calls; the killed node comes back and catches up.
      const exits = await Promise.all(apps.map((a) => Promise.race([a.exited.then(() => `${a.name} exited`), new Promise((r) => setTimeout(() => r('running'), 10))])));
      expect(exits).toEqual(apps.map(() => 'running'));
      await leader.restart();
      await waitFor(async () => {
        const info = await jsm.streams.info('MESH_WORK');
        return (info.cluster?.replicas ?? []).length === 2 && info.cluster!.replicas!.every((r) => r.current);
      }, { timeoutMs: 60_000, what: 'the restarted node to be a current replica of MESH_WORK again' });
      expect(await client.call('echo', { after: 'restart' })).toEqual({ after: 'restart' });
    } finally {
      await client.close();
    }
  });
});
