import { ProtocolHandler } from '@nats-io/nats-core/internal';
import { installWriteBatching } from './write-batching.js';

describe(installWriteBatching.name, () => {
  it('is in place on the pinned nats.js, once however often it is called', () => {
    expect(installWriteBatching()).toBe(true);
    const patched = ProtocolHandler.prototype.sendCommand;
    expect(installWriteBatching()).toBe(true);
    expect(ProtocolHandler.prototype.sendCommand).toBe(patched);
    expect(patched.toString()).toContain('setImmediate');
  });
});
