import { StatsDeltas, type InstanceStats } from './stats-delta.js';
import { appendSample, emptySeries } from './stats-series.js';

const inst = (name: string, id: string, requests: number, nanos: number, errors = 0): InstanceStats => ({ name, id, endpoints: [{ num_requests: requests, num_errors: errors, processing_time: nanos }] });

describe(StatsDeltas.name, () => {
  it('turns two snapshots into per-service rates and mean latency; the first is a baseline', () => {
    const d = new StatsDeltas();
    expect(d.next([inst('taskmesh-router', 'a', 10, 10e6)], 1000)).toBeUndefined();
    // Two router replicas: 20 + 0 more requests in 2 s, 40 ms of processing in all.
    const s = d.next([inst('taskmesh-router', 'a', 30, 50e6, 2), inst('taskmesh-router', 'b', 5, 5e6)], 3000);
    expect(s).toEqual({ at: 3000, services: [{ service: 'taskmesh-router', instances: 2, requestsPerSec: 10, errorsPerSec: 1, meanMs: 2 }] });
  });

  it('treats a new instance and a restarted one as baselines, not bursts', () => {
    const d = new StatsDeltas();
    d.next([inst('taskmesh-worker', 'w', 1000, 1e9)], 0);
    const s = d.next([inst('taskmesh-worker', 'w', 3, 3e6), inst('taskmesh-worker', 'x', 500, 5e8)], 1000);
    expect(s!.services).toEqual([{ service: 'taskmesh-worker', instances: 2, requestsPerSec: 0, errorsPerSec: 0 }]);
  });
});

describe(appendSample.name, () => {
  it('keeps one column per service, with gaps, and the newest points only', () => {
    const pick = (r: { requestsPerSec: number }) => r.requestsPerSec;
    let s = appendSample(emptySeries(), { at: 1000, services: [{ service: 'a', instances: 1, requestsPerSec: 1, errorsPerSec: 0 }] }, pick, 2);
    s = appendSample(s, { at: 2000, services: [{ service: 'b', instances: 1, requestsPerSec: 5, errorsPerSec: 0 }] }, pick, 2);
    expect(s).toEqual({ services: ['a', 'b'], data: [[1, 2], [1, null], [null, 5]] });
    s = appendSample(s, { at: 3000, services: [{ service: 'a', instances: 1, requestsPerSec: 3, errorsPerSec: 0 }] }, pick, 2);
    expect(s.data).toEqual([[2, 3], [null, 3], [5, null]]);
  });
});
