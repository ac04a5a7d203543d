import { parseMessage, type MessageSpec } from './codec.js';
import { InvalidMessageError } from './errors.js';
import { DispatchMessage, dropUndefined } from './dispatch.message.js';
import { IsConstant, IsIsoInstant, IsOneOf, Optional } from './validators.js';
import { PROTOCOL_VERSION } from './version.js';

/** What happened to a dispatch (`<p>.events.dispatch.<id>`). */
export const DispatchEvent = {
  /** Lifecycle: it was created. */
  Created: 'created',
  /** Lifecycle: its definition changed. */
  Updated: 'updated',
  /** Lifecycle: it was deleted (the event carries its last definition). */
  Deleted: 'deleted',
  /** Running state: an occurrence started (its task was submitted), or it is still running after a change. */
  Started: 'started',
  /** Running state: an occurrence's duration ended, or it was stopped by a change or a delete. */
  Stopped: 'stopped',
} as const;

/** One of the dispatch events. */
export type DispatchEvent = (typeof DispatchEvent)[keyof typeof DispatchEvent];

const DISPATCH_EVENTS: readonly DispatchEvent[] = Object.values(DispatchEvent);

/**
 * `<p>.events.dispatch.<id>`: `{v, event, dispatch, at, occurrence?}`. `occurrence` (ISO-8601) names the occurrence
 * a `started` / `stopped` event is about; its invocation id is `dispatch:<id>:<occurrence epoch ms>`.
 */
export class DispatchEventMessage {
  @IsConstant(PROTOCOL_VERSION)
  v!: typeof PROTOCOL_VERSION;

  @IsOneOf(DISPATCH_EVENTS)
  event!: DispatchEvent;

  /** The dispatch as it is (or was, for `deleted`). */
  dispatch!: DispatchMessage;

  /** When the scheduler published it. */
  @IsIsoInstant()
  at!: string;

  /** The occurrence of a running-state event. */
  @Optional()
  @IsIsoInstant()
  occurrence?: string;

  /** Reads a dispatch event; throws InvalidMessageError listing every problem. */
  static parse(raw: unknown): DispatchEventMessage {
    return parseMessage(raw, EVENT_SPEC);
  }

  /** A validated event; `at` defaults to now. */
  static create(event: DispatchEvent, dispatch: DispatchMessage, opts: { at?: string; occurrence?: string } = {}): DispatchEventMessage {
    return parseMessage({ v: PROTOCOL_VERSION, event, dispatch, at: opts.at ?? new Date().toISOString(), occurrence: opts.occurrence }, EVENT_SPEC);
  }
}

const EVENT_SPEC: MessageSpec<DispatchEventMessage> = {
  what: 'dispatch event',
  ctor: DispatchEventMessage,
  fields: ['v', 'event', 'dispatch', 'at', 'occurrence'],
  optional: ['occurrence'],
  versioned: true,
  finish: (m, record, problems) => {
    const raw = record['dispatch'];
    if (raw !== undefined) {
      // The dispatch's own parser: one definition of its rules.
      try {
        m.dispatch = raw instanceof DispatchMessage ? raw : DispatchMessage.parse(raw);
      } catch (err) {
        if (!(err instanceof InvalidMessageError)) throw err;
        problems.push(...err.problems.map((p) => (p.startsWith('unknown field') ? p : `dispatch.${p}`)));
      }
    }
    dropUndefined(m, ['occurrence']);
  },
};
