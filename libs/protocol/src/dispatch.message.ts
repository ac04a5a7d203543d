import { decodeBody, objectOf, parseMessage, type MessageSpec } from './codec.js';
import { InvalidMessageError } from './errors.js';
import type { JsonValue } from './json.js';
import { DISPATCH_ID_PATTERN, MAX_KEY_LENGTH, TASK_NAME_PATTERN } from './limits.js';
import { IsBool, IsConstant, IsIntBetween, IsIsoInstant, IsJson, IsOneOf, IsStringLength, MatchesPattern, Optional } from './validators.js';
import { PROTOCOL_VERSION } from './version.js';

/**
 * What a scheduler does with occurrences it missed while no scheduler was leading (docs/PROTOCOL.md section 4.8), within the
 * catch-up window: `skip` them (the default; an occurrence whose duration still runs is picked up), fire the
 * latest one once (`fire-once`), or fire every one (`fire-all`).
 */
export const MisfirePolicy = {
  Skip: 'skip',
  FireOnce: 'fire-once',
  FireAll: 'fire-all',
} as const;

/** One of the misfire policies. */
export type MisfirePolicy = (typeof MisfirePolicy)[keyof typeof MisfirePolicy];

const MISFIRE_POLICIES: readonly MisfirePolicy[] = Object.values(MisfirePolicy);

/** Longest RRULE accepted. */
export const MAX_RRULE_LENGTH = 1000;
/** Longest cron expression accepted. */
export const MAX_CRON_LENGTH = 200;
/** Longest occurrence duration: 31 days. */
export const MAX_DURATION_MS = 31 * 86_400_000;
/** Longest IANA time zone name. */
const MAX_ZONE_LENGTH = 64;

/** A recurrence: an RFC 5545 RRULE (`FREQ=DAILY;BYHOUR=2`), or a cron expression. */
export type Recurrence = string | { cron: string };

/** The fields a dispatch is made of (create body; update changes some of them). */
interface DispatchFields {
  task: string;
  args: JsonValue;
  key?: string;
  start: string;
  duration?: number;
  recurrence?: Recurrence;
  timezone?: string;
  active: boolean;
  dryRun: boolean;
  misfire: MisfirePolicy;
}

const FIELD_NAMES = ['task', 'args', 'key', 'start', 'duration', 'recurrence', 'timezone', 'active', 'dryRun', 'misfire'] as const;
const OPTIONAL = ['key', 'duration', 'recurrence', 'timezone'] as const;

/** Reads `recurrence`: an RRULE string or `{cron}`; pushes problems. */
function readRecurrence(value: unknown, problems: string[]): Recurrence | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    if (value.length === 0 || value.length > MAX_RRULE_LENGTH) problems.push(`recurrence: an RRULE of 1 to ${MAX_RRULE_LENGTH} characters`);
    return value;
  }
  if (typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== 'cron') problems.push(`unknown field "recurrence.${k}"`);
    if (typeof o['cron'] !== 'string' || o['cron'].length === 0 || o['cron'].length > MAX_CRON_LENGTH) {
      problems.push(`recurrence.cron: a cron expression of 1 to ${MAX_CRON_LENGTH} characters`);
    }
    return { cron: String(o['cron']) };
  }
  problems.push('recurrence: must be an RRULE string or {"cron": "..."}');
  return undefined;
}

/** `mesh.dispatches.create` body: a task to submit at `start`, optionally for `duration`, optionally recurring. */
export class DispatchCreate implements DispatchFields {
  /** Chosen by the caller (DISPATCH_ID_PATTERN), else generated. */
  @Optional()
  @MatchesPattern(DISPATCH_ID_PATTERN)
  id?: string;

  @MatchesPattern(TASK_NAME_PATTERN)
  task!: string;

  @IsJson()
  args!: JsonValue;

  @Optional()
  @IsStringLength(1, MAX_KEY_LENGTH)
  key?: string;

  /** The first occurrence (ISO-8601 instant); also DTSTART of the recurrence. */
  @IsIsoInstant()
  start!: string;

  /** How long each occurrence runs, in ms (then `stopped`); absent: occurrences only start. */
  @Optional()
  @IsIntBetween(1, MAX_DURATION_MS)
  duration?: number;

  recurrence?: Recurrence;

  /** IANA zone the recurrence is computed in (wall-clock rules across DST); default UTC. */
  @Optional()
  @IsStringLength(1, MAX_ZONE_LENGTH)
  timezone?: string;

  @IsBool()
  active!: boolean;

  @IsBool()
  dryRun!: boolean;

  @IsOneOf(MISFIRE_POLICIES)
  misfire!: MisfirePolicy;

  /** Reads a create body; throws InvalidMessageError listing every problem (defaults filled in). */
  static parse(raw: unknown): DispatchCreate {
    return parseMessage(raw, CREATE_SPEC);
  }
}

const CREATE_SPEC: MessageSpec<DispatchCreate> = {
  what: 'dispatch',
  ctor: DispatchCreate,
  fields: ['id', ...FIELD_NAMES, 'v'],
  optional: ['id', ...OPTIONAL, 'v', 'active', 'dryRun', 'misfire', 'args'],
  versioned: true,
  versionOptional: true,
  finish: (d, record, problems) => {
    delete (d as { v?: unknown }).v;
    d.recurrence = readRecurrence(record['recurrence'], problems);
    if (d.args === undefined) d.args = null;
    d.active ??= true;
    d.dryRun ??= false;
    d.misfire ??= MisfirePolicy.Skip;
  },
};

/**
 * `mesh.dispatches.update` body: `{id, ...changes}`. A change to `null` removes an optional field (`key`,
 * `duration`, `recurrence`, `timezone`).
 */
export interface DispatchUpdate {
  id: string;
  changes: Partial<DispatchFields>;
  /** Optional fields to remove. */
  removed: Array<(typeof OPTIONAL)[number]>;
}

/** Reads an update body; throws InvalidMessageError listing every problem. */
export function parseDispatchUpdate(raw: unknown): DispatchUpdate {
  const what = 'dispatch update';
  const record = objectOf(decodeBody(raw, what), what, '');
  const problems: string[] = [];
  for (const k of Object.keys(record)) if (k !== 'id' && k !== 'v' && !(FIELD_NAMES as readonly string[]).includes(k)) problems.push(`unknown field "${k}"`);
  const id = record['id'];
  if (typeof id !== 'string' || !DISPATCH_ID_PATTERN.test(id)) problems.push(`id: must match ${String(DISPATCH_ID_PATTERN)}`);
  const removed = OPTIONAL.filter((k) => Object.hasOwn(record, k) && record[k] === null);
  // Validate the changes with the create rules, on a body made complete with harmless placeholders.
  const given = Object.fromEntries(FIELD_NAMES.filter((k) => Object.hasOwn(record, k) && record[k] !== null).map((k) => [k, record[k]]));
  try {
    DispatchCreate.parse({ task: 'placeholder', start: new Date(0).toISOString(), ...given });
  } catch (err) {
    if (!(err instanceof InvalidMessageError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length > 0) throw InvalidMessageError.of(what, problems);
  const changes = given as Partial<DispatchFields>;
  // `args: null` is a value (the task gets null), not a removal.
  if (Object.hasOwn(record, 'args') && record['args'] === null) changes.args = null;
  if (given['recurrence'] !== undefined) changes.recurrence = readRecurrence(given['recurrence'], []);
  return { id: id as string, changes, removed };
}

/** Most occurrences per dispatch `mesh.dispatches.upcoming` lists (a timeline needs a handful). */
export const MAX_UPCOMING = 100;
/** Occurrences per dispatch `mesh.dispatches.upcoming` lists when the request does not say. */
export const DEFAULT_UPCOMING = 5;

/** `mesh.dispatches.upcoming` body: `{limit?}`, the occurrences per dispatch (1 to MAX_UPCOMING). */
export interface DispatchUpcomingRequest {
  limit: number;
}

/** Reads an upcoming body; throws InvalidMessageError listing every problem. */
export function parseDispatchUpcoming(raw: unknown): DispatchUpcomingRequest {
  const what = 'upcoming request';
  const record = objectOf(decodeBody(raw, what), what, '');
  const problems: string[] = [];
  for (const k of Object.keys(record)) if (k !== 'limit') problems.push(`unknown field "${k}"`);
  const limit = record['limit'] ?? DEFAULT_UPCOMING;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_UPCOMING) problems.push(`limit: must be an integer from 1 to ${MAX_UPCOMING}`);
  if (problems.length > 0) throw InvalidMessageError.of(what, problems);
  return { limit: limit as number };
}

/** One dispatch's next occurrences (ISO instants, oldest first; none while it is inactive or has none left). */
export interface DispatchUpcoming {
  id: string;
  occurrences: string[];
}

/** A stored dispatch, as served by `mesh.dispatches.get/list` and carried in its events. */
export interface DispatchRecord extends DispatchFields {
  v: typeof PROTOCOL_VERSION;
  id: string;
  createdAt: string;
  updatedAt: string;
}

/** What happened to a dispatch. */
export const DispatchEventType = {
  Created: 'created',
  Updated: 'updated',
  Deleted: 'deleted',
  /** An occurrence started: its invocation was submitted. */
  Started: 'started',
  /** An occurrence's duration is over (dispatches with a duration only). */
  Stopped: 'stopped',
} as const;

/** One of the dispatch event types. */
export type DispatchEventType = (typeof DispatchEventType)[keyof typeof DispatchEventType];

const DISPATCH_EVENTS: readonly DispatchEventType[] = Object.values(DispatchEventType);

/** `<p>.events.dispatch.<id>`: `{v, event, dispatch, at, occurrence?}`. */
export class DispatchEventMessage {
  @IsConstant(PROTOCOL_VERSION)
  v!: typeof PROTOCOL_VERSION;

  @IsOneOf(DISPATCH_EVENTS)
  event!: DispatchEventType;

  /** The dispatch as it is (for `deleted`, as it was). */
  dispatch!: DispatchRecord;

  @IsIsoInstant()
  at!: string;

  /** `started` / `stopped`: the occurrence's start (ISO-8601). */
  @Optional()
  @IsIsoInstant()
  occurrence?: string;

  /** Reads an event (subscribers' side); throws InvalidMessageError listing every problem. */
  static parse(raw: unknown): DispatchEventMessage {
    return parseMessage(raw, EVENT_SPEC);
  }

  /** A dispatch event; `at` defaults to now. */
  static create(event: DispatchEventType, dispatch: DispatchRecord, occurrence?: number, at: string = new Date().toISOString()): DispatchEventMessage {
    return parseMessage({ v: PROTOCOL_VERSION, event, dispatch, at, ...(occurrence === undefined ? {} : { occurrence: new Date(occurrence).toISOString() }) }, EVENT_SPEC);
  }
}

const EVENT_SPEC: MessageSpec<DispatchEventMessage> = {
  what: 'dispatch event',
  ctor: DispatchEventMessage,
  fields: ['v', 'event', 'dispatch', 'at', 'occurrence'],
  optional: ['occurrence'],
  versioned: true,
  finish: (e, _record, problems) => {
    const d = e.dispatch as unknown;
    if (typeof d !== 'object' || d === null || typeof (d as { id?: unknown }).id !== 'string') problems.push('dispatch: must be a dispatch');
  },
};
