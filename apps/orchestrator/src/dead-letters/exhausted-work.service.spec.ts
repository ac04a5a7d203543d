import { exhaustedEventHeaders, exhaustedOutcome, parseExhaustedAdvisory } from './exhausted-work.service.js';

const bytes = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const advisory = { type: 'io.nats.jetstream.advisory.v1.max_deliver', id: 'x', timestamp: '2026-11-23T05:16:32Z', stream: 'MESH_WORK', consumer: 'work_sleep', stream_seq: 7, deliveries: 5 };

describe(parseExhaustedAdvisory.name, () => {
  it('reads JetStream\'s max-deliveries advisory', () => {
    expect(parseExhaustedAdvisory(bytes(advisory))).toEqual({ stream: 'MESH_WORK', consumer: 'work_sleep', seq: 7, deliveries: 5 });
  });

  it('refuses anything else', () => {
    for (const bad of ['nope', 'null', [], { ...advisory, type: 'io.nats.jetstream.advisory.v1.terminated' }, { ...advisory, stream_seq: 0 }, { ...advisory, stream_seq: '7' }, { ...advisory, stream: 1 }]) {
      expect(parseExhaustedAdvisory(bytes(bad))).toBeUndefined();
    }
  });
});

describe(exhaustedOutcome.name, () => {
  it('is a final, non-retryable WORKER_LOST naming the deliveries, as the last attempt', () => {
    const r = exhaustedOutcome('inv-1', 5);
    expect(r).toMatchObject({ id: 'inv-1', state: 'FAILURE', attempt: 5 });
    expect(r.failure).toMatchObject({ code: 'WORKER_LOST', retryable: false, details: { deliveries: 5 } });
    expect(r.failure?.message).toMatch(/delivered 5 times/);
  });
});

describe(exhaustedEventHeaders.name, () => {
  it('carries the work\'s first record, so a generated id no worker reported on still gets its record', () => {
    expect(exhaustedEventHeaders('{"v":1,"id":"inv-1"}')).toEqual({ 'Mesh-Record': '{"v":1,"id":"inv-1"}' });
    expect(exhaustedEventHeaders(undefined)).toBeUndefined();
    expect(exhaustedEventHeaders('')).toBeUndefined();
  });
});
