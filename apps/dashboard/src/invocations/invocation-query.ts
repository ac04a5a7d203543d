/**
 * The invocations view's filters and pages, pure (no NATS, no clock): the dashboard asks the orchestrator for the
 * newest records matching every filter (`mesh.invocations.list` with task, state, key and creation time, at most
 * LIST_WINDOW) and cuts the page here, so the page only ever receives one page. Older matches are reached by
 * narrowing the time range.
 */

/** Records asked of the orchestrator per query: its maximum (docs/PROTOCOL.md 4.7). */
export const LIST_WINDOW = 1000;
/** Rows per page unless asked. */
export const DEFAULT_PAGE_SIZE = 25;
/** Most rows per page. */
export const MAX_PAGE_SIZE = 200;

const STATES = ['WAITING', 'PENDING', 'RUNNING', 'SUCCESS', 'FAILURE'] as const;
const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

/** A checked query of the invocations view. */
export interface InvocationQuery {
  task?: string;
  state?: (typeof STATES)[number];
  key?: string;
  /** Created at or after (epoch ms). */
  from?: number;
  /** Created at or before (epoch ms). */
  to?: number;
  /** From 1. */
  page: number;
  size: number;
}

/** One page of a filtered list. */
export interface Page<T> {
  items: T[];
  page: number;
  size: number;
  /** Matching items within the window read. */
  total: number;
  pages: number;
  /** True when the orchestrator had more than the window: older matches exist beyond the last page. */
  truncated: boolean;
}

/** Thrown for a query the view cannot run; `problems` name the parameters. */
export class QueryError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid query: ${problems.join('; ')}`);
  }
}

/** Reads the query string's parameters (all optional); throws QueryError naming every bad one. */
export function parseInvocationQuery(raw: Record<string, unknown>): InvocationQuery {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const v = raw[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') problems.push(`${name}: must be given once`);
    return typeof v === 'string' ? v : undefined;
  };
  const known = ['task', 'state', 'key', 'from', 'to', 'page', 'size'];
  for (const k of Object.keys(raw)) if (!known.includes(k)) problems.push(`${k}: unknown parameter (${known.join(', ')})`);
  const task = text('task');
  if (task !== undefined && !TOKEN.test(task)) problems.push('task: must be a task name');
  const state = text('state');
  if (state !== undefined && !(STATES as readonly string[]).includes(state)) problems.push(`state: must be one of ${STATES.join(', ')}`);
  const key = text('key');
  if (key !== undefined && key.length > 256) problems.push('key: at most 256 characters');
  const instant = (name: string): number | undefined => {
    const v = text(name);
    if (v === undefined) return undefined;
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) problems.push(`${name}: must be a date and time (ISO 8601)`);
    return ms;
  };
  const from = instant('from');
  const to = instant('to');
  if (from !== undefined && to !== undefined && from > to) problems.push('from: must not be after to');
  const int = (name: string, fallback: number, max: number): number => {
    const v = text(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max) problems.push(`${name}: must be an integer from 1 to ${max}`);
    return n;
  };
  const size = int('size', DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  const page = int('page', 1, LIST_WINDOW);
  if (problems.length > 0) throw new QueryError(problems);
  return {
    page, size,
    ...(task === undefined ? {} : { task }), ...(state === undefined ? {} : { state: state as InvocationQuery['state'] }),
    ...(key === undefined ? {} : { key }), ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }),
  };
}

/** Page `page` (from 1) of `size` of `items`; past the last, an empty page with the real page count. */
export function paginate<T>(items: readonly T[], page: number, size: number, windowFull: boolean): Page<T> {
  const pages = Math.max(1, Math.ceil(items.length / size));
  const start = (page - 1) * size;
  return { items: items.slice(start, start + size), page, size, total: items.length, pages, truncated: windowFull };
}
