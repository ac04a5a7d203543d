/**
 * Throughput and latency from the apps' own counters, pure: every app answers `$SRV.STATS` with cumulative
 * per-endpoint `num_requests`, `num_errors` and `processing_time` (docs/PROTOCOL.md 4.11). Two snapshots a known time
 * apart give, per service, the requests and errors per second and the mean processing time of the requests in
 * between. An instance seen for the first time, or whose counters went down (it restarted under the same id), is
 * only a baseline: its totals are not a burst.
 */

/** The counters of one instance's answer that the deltas read. */
export interface InstanceStats {
  name: string;
  id: string;
  endpoints: ReadonlyArray<{ num_requests: number; num_errors: number; processing_time: number }>;
}

/** One service's rates over an interval. */
export interface ServiceRate {
  /** The micro service name (`taskmesh-router`, ...). */
  service: string;
  instances: number;
  requestsPerSec: number;
  errorsPerSec: number;
  /** Mean processing time of the interval's requests, ms; undefined when there were none. */
  meanMs?: number;
}

/** One sample: when it was taken and each service's rates since the previous one. */
export interface StatsSample {
  at: number;
  services: ServiceRate[];
}

interface Totals {
  requests: number;
  errors: number;
  nanos: number;
}

/** An instance's totals over its endpoints. */
function totals(s: InstanceStats): Totals {
  return s.endpoints.reduce((t, e) => ({ requests: t.requests + e.num_requests, errors: t.errors + e.num_errors, nanos: t.nanos + e.processing_time }), { requests: 0, errors: 0, nanos: 0 });
}

/** Keeps the previous snapshot and turns each new one into a sample. */
export class StatsDeltas {
  private previous = new Map<string, Totals>();
  private previousAt: number | undefined;

  /** The sample for `snapshot` taken at `at` (epoch ms); undefined for the first (a baseline only). */
  next(snapshot: readonly InstanceStats[], at: number): StatsSample | undefined {
    const current = new Map(snapshot.map((s) => [`${s.name}/${s.id}`, totals(s)]));
    const before = this.previous;
    const since = this.previousAt;
    this.previous = current;
    this.previousAt = at;
    if (since === undefined || at <= since) return undefined;
    const seconds = (at - since) / 1000;
    const byService = new Map<string, { instances: number; requests: number; errors: number; nanos: number }>();
    for (const s of snapshot) {
      const now = current.get(`${s.name}/${s.id}`)!;
      const was = before.get(`${s.name}/${s.id}`);
      const sum = byService.get(s.name) ?? { instances: 0, requests: 0, errors: 0, nanos: 0 };
      sum.instances++;
      if (was !== undefined && now.requests >= was.requests && now.nanos >= was.nanos && now.errors >= was.errors) {
        sum.requests += now.requests - was.requests;
        sum.errors += now.errors - was.errors;
        sum.nanos += now.nanos - was.nanos;
      }
      byService.set(s.name, sum);
    }
    const services = [...byService.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([service, s]) => ({
      service, instances: s.instances, requestsPerSec: round(s.requests / seconds), errorsPerSec: round(s.errors / seconds),
      ...(s.requests > 0 ? { meanMs: round(s.nanos / s.requests / 1e6) } : {}),
    }));
    return { at, services };
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
