/**
 * NATS micro discovery (the NATS "Service API", ADR-32: github.com/nats-io/nats-architecture-and-design,
 * adr/ADR-32.md), pure: the per-endpoint statistics a service keeps and the PING / INFO / STATS answers built from
 * them, in the schema `nats micro ls|info|stats` reads (`io.nats.micro.v1.*_response`). The responders that put
 * them on `$SRV.<VERB>[.<name>[.<id>]]` are in serve-discovery.ts.
 */

/** The discovery verbs. */
export const DiscoveryVerb = { Ping: 'PING', Info: 'INFO', Stats: 'STATS' } as const;
export type DiscoveryVerb = (typeof DiscoveryVerb)[keyof typeof DiscoveryVerb];

/** What a service says about itself (immutable once it serves). */
export interface ServiceIdentity {
  /** The kind of service, shared by its replicas: letters, digits, `-` and `_`. */
  name: string;
  /** This instance, unique. */
  id: string;
  /** SemVer. */
  version: string;
  description: string;
  metadata: Record<string, string>;
}

/** One endpoint: where it listens and in which queue group (`''` when every instance gets every message). */
export interface EndpointInfo {
  name: string;
  subject: string;
  queue_group: string;
  metadata: Record<string, string>;
}

/** An endpoint's counters (processing times in nanoseconds, as the schema says). */
export interface EndpointStats {
  name: string;
  subject: string;
  queue_group: string;
  num_requests: number;
  num_errors: number;
  last_error: string;
  processing_time: number;
  average_processing_time: number;
}

const NAME = /^[A-Za-z0-9_-]+$/;
// The official SemVer regular expression (semver.org), as ADR-32 asks.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Throws RangeError when `identity` breaks ADR-32's rules (name characters, SemVer version, non-empty id). */
export function checkIdentity(identity: ServiceIdentity): ServiceIdentity {
  if (!NAME.test(identity.name)) throw new RangeError(`service name ${JSON.stringify(identity.name)} may hold only A-Z, a-z, 0-9, - and _`);
  if (!NAME.test(identity.id)) throw new RangeError(`service id ${JSON.stringify(identity.id)} may hold only A-Z, a-z, 0-9, - and _`);
  if (!SEMVER.test(identity.version)) throw new RangeError(`service version ${JSON.stringify(identity.version)} is not SemVer`);
  return identity;
}

/** The subjects one instance answers for a verb: all services, its name, its name and id. */
export function discoverySubjects(verb: DiscoveryVerb, identity: Pick<ServiceIdentity, 'name' | 'id'>): string[] {
  return [`$SRV.${verb}`, `$SRV.${verb}.${identity.name}`, `$SRV.${verb}.${identity.name}.${identity.id}`];
}

/** Counters of each endpoint, kept by the code that runs its handler. */
export class EndpointStatsBook {
  private readonly stats = new Map<string, EndpointStats>();

  /** Declares an endpoint (again: keeps its counters). */
  add(endpoint: Omit<EndpointInfo, 'metadata'>): void {
    if (this.stats.has(endpoint.name)) return;
    this.stats.set(endpoint.name, { ...endpoint, num_requests: 0, num_errors: 0, last_error: '', processing_time: 0, average_processing_time: 0 });
  }

  /** Counts one request of `endpoint` that took `nanos`; `error` is what went wrong, if it did. */
  record(endpoint: string, nanos: number, error?: string): void {
    const s = this.stats.get(endpoint);
    if (s === undefined) return;
    s.num_requests += 1;
    s.processing_time += Math.max(0, Math.round(nanos));
    s.average_processing_time = Math.trunc(s.processing_time / s.num_requests);
    if (error !== undefined) {
      s.num_errors += 1;
      s.last_error = error;
    }
  }

  /** A copy of every endpoint's counters, in declaration order. */
  snapshot(): EndpointStats[] {
    return [...this.stats.values()].map((s) => ({ ...s }));
  }

  /** Every endpoint as INFO lists it. */
  endpoints(): EndpointInfo[] {
    return [...this.stats.values()].map((s) => ({ name: s.name, subject: s.subject, queue_group: s.queue_group, metadata: {} }));
  }
}

/** The answer to `verb`, in ADR-32's schema. */
export function discoveryResponse(verb: DiscoveryVerb, identity: ServiceIdentity, book: EndpointStatsBook, started: Date): Record<string, unknown> {
  const common = { name: identity.name, id: identity.id, version: identity.version, metadata: identity.metadata };
  switch (verb) {
    case DiscoveryVerb.Ping:
      return { type: 'io.nats.micro.v1.ping_response', ...common };
    case DiscoveryVerb.Info:
      return { type: 'io.nats.micro.v1.info_response', ...common, description: identity.description, endpoints: book.endpoints() };
    case DiscoveryVerb.Stats:
      return { type: 'io.nats.micro.v1.stats_response', ...common, started: started.toISOString(), endpoints: book.snapshot() };
  }
}
