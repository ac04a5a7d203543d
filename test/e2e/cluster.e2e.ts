// A 3-node JetStream cluster on loopback: the apps boot on it and give the mesh's streams and buckets 3 replicas
// (MESH_REPLICAS=3). The leader-kill scenario is not here yet: docs/ARCHITECTURE.md, "JetStream cluster".
import { jest } from '@jest/globals';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { MeshClient } from '@taskmesh/client';
import { ProcessGroup, spawnApp, startNatsCluster, waitFor, type AppProcess, type NatsCluster } from '@taskmesh/testing';

jest.setTimeout(120_000);

describe('3-node JetStream cluster', () => {
  const group = new ProcessGroup();
  let cluster: NatsCluster;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
    nc = await connect({ servers: cluster.urls.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    jsm = await jetstreamManager(nc, { checkAPI: false });
    await waitFor(async () => (await jsm.getAccountInfo().catch(() => undefined)) !== undefined, { timeoutMs: 30_000, what: 'JetStream to elect its meta leader' });
    const env = { NATS_URL: cluster.urls, MESH_REPLICAS: '3', MESH_HTTP_PORT: '0', MESH_NOTIFY_PERIOD_MS: '1000', MESH_EXPIRES_AFTER_MS: '3000' };
    const started = (p: AppProcess, app: string): Promise<string> => p.waitForLine(new RegExp(`"${app} started"`), 60_000);
    const router = group.add(spawnApp('router', env, { name: 'router' }));
    await started(router, 'router');
    const rest = [
      group.add(spawnApp('orchestrator', env, { name: 'orchestrator' })),
      group.add(spawnApp('worker', { ...env, MESH_WORKER_ID: 'w1' }, { name: 'w1' })),
      group.add(spawnApp('worker', { ...env, MESH_WORKER_ID: 'w2' }, { name: 'w2' })),
    ];
    await Promise.all(rest.map((p) => started(p, p.name.startsWith('w') ? 'worker' : p.name)));
  });

  afterAll(async () => {
    await nc?.close().catch(() => undefined);
    await group.stopAll();
    await cluster?.stop();
  });

  it('every stream and bucket has 3 replicas', async () => {
    for (const name of ['MESH_WORK', 'MESH_EVENTS', 'KV_MESH_INVOCATIONS', 'KV_MESH_TASKS', 'MESH_DLQ']) {
      const info = await jsm.streams.info(name);
      expect([name, info.config.num_replicas, (info.cluster?.replicas ?? []).length + 1]).toEqual([name, 3, 3]);
    }
  });

  it('serves calls and submits through the cluster, with every node listed in NATS_URL', async () => {
    const client = await MeshClient.connect({ servers: cluster.urls, connectAttempts: 5 });
    try {
      expect(await client.call('echo', { on: 'cluster' })).toEqual({ on: 'cluster' });
      const id = await client.submit('echo', { n: 1 }, { id: 'cluster-submit' });
      expect(await client.wait(id)).toEqual({ n: 1 });
    } finally {
      await client.close();
    }
  });
});
