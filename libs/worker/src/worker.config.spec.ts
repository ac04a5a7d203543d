import { loadConfig } from '@taskmesh/runtime';
import { WorkerConfig } from './worker.config.js';

describe(WorkerConfig.name, () => {
  it('the ack wait follows the expiry unless set, so a lost worker\'s work restarts within about one expiry period', () => {
    expect(loadConfig(WorkerConfig, {}).MESH_ACK_WAIT_MS).toBe(15_000);
    expect(loadConfig(WorkerConfig, { MESH_NOTIFY_PERIOD_MS: '1000', MESH_EXPIRES_AFTER_MS: '4000' }).MESH_ACK_WAIT_MS).toBe(4_000);
    // JetStream's ack wait is at least a second here, however short the expiry.
    expect(loadConfig(WorkerConfig, { MESH_NOTIFY_PERIOD_MS: '100', MESH_EXPIRES_AFTER_MS: '300' }).MESH_ACK_WAIT_MS).toBe(1_000);
    expect(loadConfig(WorkerConfig, { MESH_ACK_WAIT_MS: '30000' }).MESH_ACK_WAIT_MS).toBe(30_000);
    expect(() => loadConfig(WorkerConfig, { MESH_ACK_WAIT_MS: '10' })).toThrow(/MESH_ACK_WAIT_MS/);
  });
});
