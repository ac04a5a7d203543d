import { parseMessage, type MessageSpec } from './codec.js';
import { MAX_SUBJECT_LENGTH, MAX_TASKS_PER_WORKER, TASK_NAME_PATTERN, WORKER_ID_PATTERN } from './limits.js';
import { IsConstant, IsIntBetween, IsIsoInstant, IsLiteralSubject, IsStringArray, MatchesPattern } from './validators.js';
import { PROTOCOL_VERSION } from './version.js';

/** The fields a worker fills in a NOTIFY (`v` and `type` are implied; `sentAt` defaults to now). */
export interface NotifyFields {
  worker: string;
  topic: string;
  tasks: readonly string[];
  capacity: number;
  inflight: number;
  seq: number;
  sentAt?: string;
}

/**
 * NOTIFY: a worker's heartbeat and offer, published on `<p>.notify` every notify period, on start, and in
 * answer to `<p>.notify.request`. A router that stops hearing it for the expiry period expires the worker.
 */
export class NotifyMessage {
  /** Protocol version (PROTOCOL_VERSION). */
  @IsConstant(PROTOCOL_VERSION)
  v!: typeof PROTOCOL_VERSION;

  /** Always `NOTIFY`. */
  @IsConstant('NOTIFY')
  type!: 'NOTIFY';

  /** The worker's id (WORKER_ID_PATTERN). */
  @MatchesPattern(WORKER_ID_PATTERN)
  worker!: string;

  /** The subject the worker takes direct requests on (normally `<p>.worker.<id>`). */
  @IsLiteralSubject(MAX_SUBJECT_LENGTH)
  topic!: string;

  /** The tasks it offers (TASK_NAME_PATTERN each, at most MAX_TASKS_PER_WORKER). */
  @IsStringArray(TASK_NAME_PATTERN, MAX_TASKS_PER_WORKER)
  tasks!: string[];

  /** How many tasks it runs at once (>= 1). */
  @IsIntBetween(1, Number.MAX_SAFE_INTEGER)
  capacity!: number;

  /** How many it is running now (>= 0). */
  @IsIntBetween(0, Number.MAX_SAFE_INTEGER)
  inflight!: number;

  /** Increases with every NOTIFY of this worker process, so a receiver can drop reordered beats. */
  @IsIntBetween(0, Number.MAX_SAFE_INTEGER)
  seq!: number;

  /** When it was sent (ISO-8601, the worker's clock: informative only, ages are measured by the receiver). */
  @IsIsoInstant()
  sentAt!: string;

  /** Free slots: capacity minus inflight, never below zero. */
  get free(): number {
    return Math.max(0, this.capacity - this.inflight);
  }

  /** Reads a NOTIFY from bytes, JSON text or a parsed value; throws InvalidMessageError listing every problem. */
  static parse(raw: unknown): NotifyMessage {
    return parseMessage(raw, NOTIFY_SPEC);
  }

  /** A validated NOTIFY (InvalidMessageError when a field is wrong); `sentAt` defaults to now. */
  static create(fields: NotifyFields): NotifyMessage {
    return parseMessage(
      { v: PROTOCOL_VERSION, type: 'NOTIFY', ...fields, tasks: [...fields.tasks], sentAt: fields.sentAt ?? new Date().toISOString() },
      NOTIFY_SPEC,
    );
  }
}

const NOTIFY_SPEC: MessageSpec<NotifyMessage> = {
  what: 'NOTIFY message',
  ctor: NotifyMessage,
  fields: ['v', 'type', 'worker', 'topic', 'tasks', 'capacity', 'inflight', 'seq', 'sentAt'],
  versioned: true,
};
