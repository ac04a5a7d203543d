import Table from 'cli-table3';
import type { DeadLetter, WorkerInfo } from '@taskmesh/client';
import type { DispatchEventMessage, DispatchRecord, InvocationRecord, InvocationStory, RedriveReply } from '@taskmesh/protocol';

// Human output: tables (cli-table3) and one-line renderings. Pure: strings in, strings out. `--json` bypasses all of it.

/** A table with a header row; plain (no colours), so it reads the same in a pipe. */
export function table(head: string[], rows: Array<Array<string | number>>): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  t.push(...rows.map((r) => r.map(String)));
  return t.toString();
}

/** A two-column table of `field: value`, for one record; absent values are left out. */
export function fields(rows: Array<[string, unknown]>): string {
  const t = new Table({ style: { head: [], border: [] } });
  for (const [name, value] of rows) if (value !== undefined) t.push({ [name]: text(value) });
  return t.toString();
}

/** A value as one cell: strings as they are, anything else as compact JSON (cut at 200 characters). */
export function text(value: unknown): string {
  const s = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

/** A duration for people: `850 ms`, `12.3 s`, `4 min 5 s`, `2 h 3 min`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The time an invocation took (started to finished), or ''. */
function took(r: InvocationRecord): string {
  if (r.startedAt === undefined || r.finishedAt === undefined) return '';
  return duration(Date.parse(r.finishedAt) - Date.parse(r.startedAt));
}

/** `invocations`: one row per record. */
export function invocationsTable(records: InvocationRecord[]): string {
  return table(
    ['id', 'task', 'state', 'attempts', 'worker', 'created', 'took', 'failure'],
    records.map((r) => [r.id, r.task, r.state, r.attempts, r.worker ?? '', r.createdAt, took(r), r.failure?.code ?? '']),
  );
}

/** `get`: one record, field by field. */
export function invocationFields(r: InvocationRecord): string {
  return fields([
    ['id', r.id], ['task', r.task], ['state', r.state], ['attempts', r.attempts], ['worker', r.worker], ['key', r.key],
    ['created', r.createdAt], ['started', r.startedAt], ['finished', r.finishedAt],
    ['deadline', r.deadline === undefined ? undefined : new Date(r.deadline).toISOString()],
    ['result', r.state === 'SUCCESS' ? (r.result ?? null) : undefined],
    ['failure', r.failure === undefined ? undefined : `${r.failure.code}: ${r.failure.message}`],
    ['failure details', r.failure?.details], ['parent', r.parentId], ['children', r.children.length > 0 ? r.children.join(' ') : undefined],
  ]);
}

/** `workers`: one row per live worker. */
export function workersTable(workers: WorkerInfo[]): string {
  return table(
    ['id', 'tasks', 'inflight', 'capacity', 'last seen', 'uptime', 'restarts'],
    workers.map((w) => [w.id, w.tasks.join(' '), w.inflight, w.capacity, `${duration(w.lastSeenMs)} ago`, duration(w.uptimeMs), w.restarts]),
  );
}

/** `deadletters`: one row per dead letter. */
export function deadLettersTable(letters: DeadLetter[]): string {
  return table(
    ['seq', 'at', 'task', 'reason', 'from', 'deliveries'],
    // The fields read from a letter's headers may be absent (a header that was): an empty cell then.
    letters.map((d) => [d.seq, d.at ?? '', d.task, d.reason, d.fromStream === undefined ? '' : `${d.fromStream} #${d.fromSeq ?? '?'}`, d.deliveries ?? '']),
  );
}

/** The recurrence of a dispatch as written (`cron: ...` for a cron expression). */
function recurrence(d: DispatchRecord): string {
  if (d.recurrence === undefined) return 'once';
  return typeof d.recurrence === 'string' ? d.recurrence : `cron: ${d.recurrence.cron}`;
}

/** `dispatches list`: one row per dispatch. */
export function dispatchesTable(list: DispatchRecord[]): string {
  return table(
    ['id', 'task', 'recurrence', 'start', 'duration', 'active', 'updated'],
    list.map((d) => [d.id, d.task, recurrence(d), d.start, d.duration === undefined ? '' : duration(d.duration), d.active ? 'yes' : 'no', d.updatedAt]),
  );
}

/** `dispatches get/create`: one dispatch, field by field. */
export function dispatchFields(d: DispatchRecord): string {
  return fields([
    ['id', d.id], ['task', d.task], ['args', d.args], ['key', d.key], ['start', d.start], ['recurrence', recurrence(d)],
    ['timezone', d.timezone], ['duration', d.duration === undefined ? undefined : duration(d.duration)], ['active', d.active],
    ['dry run', d.dryRun || undefined], ['misfire', d.misfire], ['created', d.createdAt], ['updated', d.updatedAt],
  ]);
}

/** `dispatches follow`: one line per event, `<at> <event>[ occurrence <start>]`. */
export function dispatchEventLine(e: DispatchEventMessage): string {
  return `${e.at} ${e.event}${e.occurrence === undefined ? '' : ` occurrence ${e.occurrence}`}`;
}

/** The fields of a RESPONSE that `events` prints. */
export interface ResponseLike {
  id?: string;
  state: string;
  data?: unknown;
  attempt?: number;
  worker?: string;
  at?: string;
}

/** `events`: one line per RESPONSE: `[at] STATE [attempt n] [worker w] [what it carries]`. */
export function responseLine(r: ResponseLike): string {
  const data = r.data as { result?: unknown; failure?: { code: string; message: string }; eventType?: string; details?: unknown } | undefined;
  const parts = [r.at, r.state, r.attempt === undefined ? undefined : `attempt ${r.attempt}`, r.worker === undefined ? undefined : `worker ${r.worker}`];
  if (r.state === 'SUCCESS') parts.push(text(data?.result ?? null));
  else if (r.state === 'FAILURE' && data?.failure) parts.push(`${data.failure.code}: ${data.failure.message}`);
  else if (r.state === 'EVENT' && data) parts.push(data.details === undefined ? String(data.eventType) : `${String(data.eventType)} ${text(data.details)}`);
  return parts.filter((p) => p !== undefined).join(' ');
}

/** `deadletters redrive`: one line per invocation redriven or skipped. */
export function redriveLines(reply: RedriveReply): string {
  const lines = [
    ...reply.redriven.map((id) => `redriven ${id}`),
    ...reply.skipped.map((s) => `skipped  ${s.id}: ${s.reason}`),
  ];
  if (lines.length === 0) lines.push('no dead letters to redrive');
  if (reply.more === true) lines.push('more dead letters remain: run it again');
  return lines.join('\n');
}

/** `story`: one row per entry (time, attempt, worker, kind, type, detail), then the attempts no worker remembers. */
export function storyTable(story: InvocationStory): string {
  if (story.entries.length === 0 && !story.missing) return `no worker remembers ${story.id}`;
  const rows = story.entries.map((e) => [e.at, e.attempt ?? '', e.worker, e.kind, e.type, e.detail === undefined ? '' : shorten(JSON.stringify(e.detail), 80)]);
  const notes = (story.missing ?? []).map((m) => `attempt ${m.attempt}${m.worker ? ` (on ${m.worker})` : ''}: no worker remembers it`);
  if (story.truncated) notes.push('older entries left out (the story is bounded)');
  return [table(['at', 'attempt', 'worker', 'kind', 'type', 'detail'], rows), ...notes].join('\n');
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
