import { readStats } from './mesh-observer.js';

const bytes = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const endpoint = { name: 'callAll', subject: 'mesh.call.*', queue_group: 'mesh-router', num_requests: 3, num_errors: 1, last_error: '', processing_time: 900, average_processing_time: 300 };

describe(readStats.name, () => {
  it('reads a micro stats response: service, instance, start and each endpoint\'s counters', () => {
    expect(readStats(bytes({ type: 'io.nats.micro.v1.stats_response', name: 'taskmesh-router', id: 'r1', version: '0.1.0', started: '2026-12-03T10:00:00Z', endpoints: [endpoint] }))).toEqual({
      name: 'taskmesh-router', id: 'r1', started: '2026-12-03T10:00:00Z',
      endpoints: [{ name: 'callAll', subject: 'mesh.call.*', num_requests: 3, num_errors: 1, processing_time: 900, average_processing_time: 300 }],
    });
  });

  it("skips anything else: another verb's answer, a broken counter, not JSON", () => {
    expect(readStats(bytes({ type: 'io.nats.micro.v1.ping_response', name: 'x', id: 'y', endpoints: [] }))).toBeUndefined();
    expect(readStats(bytes({ type: 'io.nats.micro.v1.stats_response', name: 'x', id: 'y', endpoints: [{ ...endpoint, num_requests: 'many' }] }))).toBeUndefined();
    expect(readStats(bytes('{not json'))).toBeUndefined();
  });
});
