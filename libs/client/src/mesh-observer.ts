import { InvalidMessageError, ResponseMessage, WorkerEventMessage, type DispatchEventMessage } from '@taskmesh/protocol';
import type { MeshClient } from './mesh-client.js';
import { readDispatchEvent } from './replies.js';
import { followSubject } from './subject-feed.js';

/** How long `serviceStats` collects answers by default: every instance answers `$SRV.STATS` at once. */
export const DEFAULT_STATS_WAIT_MS = 500;
/** Most `$SRV.STATS` answers `serviceStats` reads (a mesh of more instances is cut there). */
export const MAX_STATS_ANSWERS = 1_000;

/** One endpoint's counters in a `$SRV.STATS` answer (docs/PROTOCOL.md 4.11; times in nanoseconds). */
export interface EndpointStatsView {
  name: string;
  subject: string;
  num_requests: number;
  num_errors: number;
  processing_time: number;
  average_processing_time: number;
}

/** One instance's `$SRV.STATS` answer: which service, which instance, since when, its endpoints' counters. */
export interface ServiceStats {
  name: string;
  id: string;
  started: string;
  endpoints: EndpointStatsView[];
}

/**
 * What happens on a mesh, as it happens, for monitors and dashboards: every worker event, every invocation's state
 * changes and progress, every dispatch event (core subscriptions: what is published while following, nothing from
 * before), and every instance's micro statistics. Each feed holds at most FOLLOW_QUEUE_BOUND unread messages and ends
 * with OverloadedError past it; `signal` (or breaking out of the loop) ends it. Messages that break the contract are
 * skipped (anyone allowed may publish there).
 */
export class MeshObserver {
  constructor(private readonly client: MeshClient) {}

  /** Workers joining and expiring (`<p>.events.worker.*`, section 4.5). */
  workerEvents(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<WorkerEventMessage> {
    return followSubject(this.client.nc, this.client.subjects.workerEventsAll(), (data) => parsed(() => WorkerEventMessage.parse(data)), options);
  }

  /** Every invocation's RESPONSEs: state changes, progress EVENTs, outcomes (`<p>.events.invocation.*`). */
  invocationEvents(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<ResponseMessage> {
    return followSubject(this.client.nc, this.client.subjects.invocationEventsAll(), (data) => parsed(() => ResponseMessage.parse(data)), options);
  }

  /** Every dispatch's events (`<p>.events.dispatch.*`, section 4.8). */
  dispatchEvents(options: { signal?: AbortSignal } = {}): AsyncIterableIterator<DispatchEventMessage> {
    return followSubject(this.client.nc, this.client.subjects.dispatchEventsAll(), (data) => readDispatchEvent(data, []), options);
  }

  /**
   * Every instance's answer to `$SRV.STATS` (section 4.11) within `waitMs`; answers that are not a micro stats
   * response are skipped. Resolves with none when nobody answers.
   */
  async serviceStats(options: { waitMs?: number } = {}): Promise<ServiceStats[]> {
    const answers = await this.client.nc.requestMany('$SRV.STATS', '', { strategy: 'timer', maxWait: options.waitMs ?? DEFAULT_STATS_WAIT_MS, maxMessages: MAX_STATS_ANSWERS });
    const out: ServiceStats[] = [];
    try {
      for await (const m of answers) {
        const stats = readStats(m.data);
        if (stats !== undefined) out.push(stats);
      }
    } catch {
      // No responders, or the connection closed mid-collection: what arrived is the answer.
    }
    return out;
  }
}

function parsed<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (err instanceof InvalidMessageError) return undefined;
    throw err;
  }
}

/** A micro stats response, its endpoints' counters checked; undefined for anything else. */
export function readStats(data: Uint8Array): ServiceStats | undefined {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  if (b['type'] !== 'io.nats.micro.v1.stats_response' || typeof b['name'] !== 'string' || typeof b['id'] !== 'string' || !Array.isArray(b['endpoints'])) return undefined;
  const endpoints: EndpointStatsView[] = [];
  for (const e of b['endpoints'] as unknown[]) {
    if (typeof e !== 'object' || e === null) return undefined;
    const x = e as Record<string, unknown>;
    const counts = ['num_requests', 'num_errors', 'processing_time', 'average_processing_time'].every((k) => typeof x[k] === 'number' && Number.isFinite(x[k]));
    if (typeof x['name'] !== 'string' || typeof x['subject'] !== 'string' || !counts) return undefined;
    endpoints.push({
      name: x['name'], subject: x['subject'], num_requests: x['num_requests'] as number, num_errors: x['num_errors'] as number,
      processing_time: x['processing_time'] as number, average_processing_time: x['average_processing_time'] as number,
    });
  }
  return { name: b['name'], id: b['id'], started: typeof b['started'] === 'string' ? b['started'] : '', endpoints };
}
