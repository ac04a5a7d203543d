/**
 * An invocation's state history, pure: the RESPONSEs its workers and the orchestrator published (the events stream,
 * oldest first), with the record filling in what the stream no longer holds (aged out, or a state written only to
 * the record, such as a waiting invocation cancelled).
 */

/** The fields of an event the history reads. */
export interface HistoryEvent {
  state: string;
  at?: string;
  attempt?: number;
  worker?: string;
  eventType?: string;
  details?: unknown;
  failure?: { code: string; message: string };
}

/** The fields of a record the history reads. */
export interface HistoryRecord {
  state: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  attempts: number;
  worker?: string;
  failure?: { code: string; message: string };
}

/** One line of the history. */
export interface HistoryEntry {
  /** ISO instant, when known. */
  at?: string;
  state: string;
  attempt?: number;
  worker?: string;
  /** What the line says beyond its state: the failure, the retry, the event type. */
  note?: string;
  /** Came from the record, not from an event. */
  fromRecord?: true;
}

/** The progress an invocation reported last, if any: `details` of its newest `progress` EVENT. */
export function lastProgress(events: readonly HistoryEvent[]): unknown {
  for (let i = events.length - 1; i >= 0; i--) if (events[i]!.state === 'EVENT' && events[i]!.eventType === 'progress') return events[i]!.details;
  return undefined;
}

/**
 * The history: WAITING at creation (from the record when no event says it), every state change and non-progress
 * event (progress is shown apart), and the record's final state when no event carries it.
 */
export function stateHistory(record: HistoryRecord, events: readonly HistoryEvent[]): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  if (!events.some((e) => e.state === 'WAITING' && e.attempt === undefined)) out.push({ at: record.createdAt, state: 'WAITING', note: 'accepted', fromRecord: true });
  if (record.startedAt !== undefined && !events.some((e) => e.state === 'RUNNING')) out.push({ at: record.startedAt, state: 'RUNNING', fromRecord: true, ...(record.worker ? { worker: record.worker } : {}) });
  // Events need not carry `at`: the start of the record's attempt and its outcome take the record's times.
  const timeOf = (e: HistoryEvent): string | undefined => e.at
    ?? (e.state === 'RUNNING' && e.attempt === record.attempts ? record.startedAt : undefined)
    ?? (e.state === record.state && (e.state === 'SUCCESS' || e.state === 'FAILURE') ? record.finishedAt : undefined);
  for (const e of events) {
    if (e.state === 'EVENT' && e.eventType === 'progress') continue;
    const at = timeOf(e);
    const note = e.state === 'EVENT' ? e.eventType : e.failure !== undefined ? `${e.failure.code}: ${e.failure.message}` : e.state === 'WAITING' && e.attempt !== undefined ? `attempt ${e.attempt} failed: retrying` : undefined;
    out.push({ state: e.state, ...(at ? { at } : {}), ...(e.attempt ? { attempt: e.attempt } : {}), ...(e.worker ? { worker: e.worker } : {}), ...(note ? { note } : {}) });
  }
  const final = record.state === 'SUCCESS' || record.state === 'FAILURE';
  if (final && !events.some((e) => e.state === record.state)) {
    const note = record.failure ? `${record.failure.code}: ${record.failure.message}` : undefined;
    out.push({ state: record.state, ...(record.finishedAt ? { at: record.finishedAt } : {}), ...(note ? { note } : {}), fromRecord: true });
  }
  return out;
}

/**
 * The state to show: the record's, unless the events are ahead of it. The orchestrator writes the record after it
 * consumed the event, so for a moment the newest state change (of the record's attempt or a later one) is only an
 * event; a final record is never overruled (a superseded attempt's late report is not the outcome).
 */
export function currentState(record: HistoryRecord, events: readonly HistoryEvent[]): { state: string; failure?: { code: string; message: string } } {
  const fromRecord = { state: record.state, ...(record.failure ? { failure: record.failure } : {}) };
  if (record.state === 'SUCCESS' || record.state === 'FAILURE') return fromRecord;
  const last = [...events].reverse().find((e) => e.state !== 'EVENT');
  if (last === undefined || (last.attempt !== undefined && last.attempt < record.attempts)) return fromRecord;
  return { state: last.state, ...(last.failure ? { failure: last.failure } : {}) };
}
