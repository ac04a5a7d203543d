import type { LeaseRecord } from '#nats';

/** What a replica remembers of the lease it last saw (revision, and since when on its own monotonic clock). */
export interface LeaseObservation {
  revision: number;
  sinceMs: number;
}

/** What to do with the lease now. */
export type LeaseStep =
  | { do: 'create' }
  /** Renew our own lease, or take over one that stayed unchanged for a whole lease period. */
  | { do: 'update'; revision: number; takeover: boolean }
  | { do: 'wait'; observed: LeaseObservation };

/**
 * The leader-lease rule, pure. nats-server 2.9 has no per-key TTL, so expiry is judged by each observer on its own
 * monotonic clock: a lease whose revision has not changed for `leaseMs` since this replica first saw it is dead
 * (its holder renews every leaseMs / 3). Clock offsets between replicas do not matter; only rates do.
 */
export function decideLease(me: string, leaseMs: number, nowMs: number, current: LeaseRecord | undefined, observed: LeaseObservation | undefined): LeaseStep {
  if (current === undefined) return { do: 'create' };
  if (current.value.holder === me) return { do: 'update', revision: current.revision, takeover: false };
  if (observed?.revision === current.revision) {
    if (nowMs - observed.sinceMs >= leaseMs) return { do: 'update', revision: current.revision, takeover: true };
    return { do: 'wait', observed };
  }
  return { do: 'wait', observed: { revision: current.revision, sinceMs: nowMs } };
}
