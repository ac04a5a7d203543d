import { isFinalState, type InvocationRecord } from '@taskmesh/protocol';

/**
 * How long an invocation's record is kept after it ends, by what the record is for (docs/PROTOCOL.md section 4.7,
 * "Retention"). Pure.
 *
 * - `lasting`: a caller-chosen id (including the scheduler's `dispatch:...` ids and a child call given its own id).
 *   Its record is the lasting dedup (the same id never runs twice), kept `MESH_PURGE_AFTER_MS`.
 * - `generated`: an id the router generated (`inv-` + a NUID). Nobody can repeat it; the record serves the caller's
 *   `get`/`wait`/`list` after a submit, kept `MESH_PURGE_GENERATED_AFTER_MS` after its last write (its end).
 * - `child`: a child call's derived id (`c-` + 32 hex, from the parent id and the call's order). It is the parent's
 *   dedup if the parent runs again after its worker's loss, so it goes at the short age only once its parent
 *   ended (or is gone); while the parent lives it is kept, at most until the lasting age.
 */
export type RetentionClass = 'lasting' | 'generated' | 'child';

/** The router's generated ids (`inv-` + a 22-character NUID, apps/router/src/calls/calls.service.ts). */
const GENERATED_ID = /^inv-[0-9A-Za-z]{22}$/;
/** The worker's derived child ids (`childId` in libs/worker/src/dispatcher/worker-dispatcher.ts). */
const DERIVED_CHILD_ID = /^c-[0-9a-f]{32}$/;

/** The retention ages, ms. */
export interface RetentionAges {
  /** Caller-chosen ids (MESH_PURGE_AFTER_MS), counted from `finishedAt`. */
  lastingMs: number;
  /** Generated and derived ids (MESH_PURGE_GENERATED_AFTER_MS, never above lastingMs), counted from the last write. */
  generatedMs: number;
}

/** Which retention a record gets, from the form of its id (a caller could choose an id of the generated form: it is then treated as generated). */
export function retentionClass(record: Pick<InvocationRecord, 'id' | 'parentId'>): RetentionClass {
  if (record.parentId !== undefined) return DERIVED_CHILD_ID.test(record.id) ? 'child' : 'lasting';
  return GENERATED_ID.test(record.id) ? 'generated' : 'lasting';
}

/** The ages in force: the generated age never exceeds the lasting one. */
export function retentionAges(lastingMs: number, generatedMs: number): RetentionAges {
  return { lastingMs, generatedMs: Math.min(generatedMs, lastingMs) };
}

/**
 * What the short-age pass does with a record written at least the generated age ago: `purge`, `purge-if-parent-ended`
 * (a child: look its parent up first), or `keep` (live: it is rewritten, and met again, when it ends; lasting: the
 * lasting pass takes it).
 */
export function shortAgeAction(record: InvocationRecord): 'purge' | 'purge-if-parent-ended' | 'keep' {
  if (!isFinalState(record.state)) return 'keep';
  const kind = retentionClass(record);
  return kind === 'generated' ? 'purge' : kind === 'child' ? 'purge-if-parent-ended' : 'keep';
}

/** The bounds on the invocations bucket (MESH_INVOCATIONS_MAX_RECORDS, MESH_INVOCATIONS_MAX_BYTES). */
export interface StoreBounds {
  maxRecords: number;
  maxBytes: number;
}

/** The janitor trims when more than this share of a bound is used, down to it: headroom for the writes of the next sweeps. */
export const TRIM_AT = 0.9;

/** How many records and bytes to remove (oldest final first) so the bucket holds at most TRIM_AT of each bound. */
export function trimNeeded(usage: { messages: number; bytes: number }, bounds: StoreBounds): { records: number; bytes: number } {
  return {
    records: Math.max(0, usage.messages - Math.floor(TRIM_AT * bounds.maxRecords)),
    bytes: Math.max(0, usage.bytes - Math.floor(TRIM_AT * bounds.maxBytes)),
  };
}

/** Bytes a record's message takes in the stream, roughly: its value, its subject and the message overhead. */
export function storedSize(key: string, value: number): number {
  return value + key.length + '$KV..'.length + STORED_OVERHEAD;
}

/** nats-server's file store adds about this much per message (headers of the record, sequence, time, checksum). */
const STORED_OVERHEAD = 40;
