import { parseMessage, type MessageSpec } from './codec.js';
import { WORKER_ID_PATTERN } from './limits.js';
import { IsConstant, IsIsoInstant, IsOneOf, MatchesPattern } from './validators.js';
import { PROTOCOL_VERSION } from './version.js';

/** What happened to a worker, as seen by a router. */
export const WorkerEvent = {
  /** First NOTIFY heard from it (or the first after it was expired). */
  Joined: 'joined',
  /** Silent for the expiry period: no more work is placed on it. */
  Expired: 'expired',
} as const;

/** One of the worker events. */
export type WorkerEvent = (typeof WorkerEvent)[keyof typeof WorkerEvent];

const WORKER_EVENTS: readonly WorkerEvent[] = Object.values(WorkerEvent);

/** `<p>.events.worker.<id>`: a worker joined or expired (every router replica that sees it publishes it). */
export class WorkerEventMessage {
  /** Protocol version (PROTOCOL_VERSION). */
  @IsConstant(PROTOCOL_VERSION)
  v!: typeof PROTOCOL_VERSION;

  /** `joined` or `expired`. */
  @IsOneOf(WORKER_EVENTS)
  event!: WorkerEvent;

  /** The worker's id. */
  @MatchesPattern(WORKER_ID_PATTERN)
  worker!: string;

  /** When it was observed (ISO-8601). */
  @IsIsoInstant()
  at!: string;

  /** Reads a worker event from bytes, JSON text or a parsed value; throws InvalidMessageError listing every problem. */
  static parse(raw: unknown): WorkerEventMessage {
    return parseMessage(raw, WORKER_EVENT_SPEC);
  }

  /** A validated worker event; `at` defaults to now. */
  static create(event: WorkerEvent, worker: string, at: string = new Date().toISOString()): WorkerEventMessage {
    return parseMessage({ v: PROTOCOL_VERSION, event, worker, at }, WORKER_EVENT_SPEC);
  }
}

const WORKER_EVENT_SPEC: MessageSpec<WorkerEventMessage> = {
  what: 'worker event',
  ctor: WorkerEventMessage,
  fields: ['v', 'event', 'worker', 'at'],
  versioned: true,
};
