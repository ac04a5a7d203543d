import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Role } from '@taskmesh/protocol';
import { startNatsCluster, waitFor, type NatsCluster } from '@taskmesh/testing';

const T = 60_000;

// The cluster requires the same per-role users on every node, as a single test server does: a client logs in on
// whichever node it reaches.
describe(startNatsCluster.name, () => {
  let cluster: NatsCluster;

  beforeAll(async () => {
    cluster = await startNatsCluster(3);
  }, T);
  afterAll(async () => cluster?.stop(), T);

  it('refuses anonymous clients on every node, and takes each role\'s login on any of them', async () => {
    for (const server of cluster.servers) {
      await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
      const nc = await connect({ servers: server.url, reconnect: false, ...cluster.login(Role.Caller) });
      await nc.close();
    }
    expect(cluster.appEnv(Role.Worker)).toEqual({ NATS_URL: cluster.urls, NATS_USER: 'worker', NATS_PASSWORD: cluster.login(Role.Worker).pass });
  }, T);

  it('runs JetStream across the nodes for the admin', async () => {
    const nc = await connect({ servers: cluster.urls.split(','), ...cluster.login(Role.Admin) });
    try {
      const jsm = await jetstreamManager(nc);
      // The meta leader is elected a moment after the nodes accept clients.
      await waitFor(async () => (await jsm.streams.add({ name: 'REPLICATED', subjects: ['replicated.>'], num_replicas: 3 }).catch(() => undefined)) !== undefined, {
        timeoutMs: 20_000, what: 'a 3-replica stream',
      });
      expect((await jsm.streams.info('REPLICATED')).cluster?.replicas).toHaveLength(2);
    } finally {
      await nc.close();
    }
  }, T);
});
