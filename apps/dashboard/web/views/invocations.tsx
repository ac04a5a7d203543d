import { useEffect, useState } from 'preact/hooks';
import { api, useDebounced, useLive } from '../api.js';
import { clock, relative } from '../format.js';
import { Empty, ErrorLine, message, Panel, State } from './common.js';

interface Row {
  id: string;
  task: string;
  state: string;
  attempts: number;
  worker?: string;
  key?: string;
  createdAt: string;
  finishedAt?: string;
}
interface Page {
  items: Row[];
  page: number;
  size: number;
  total: number;
  pages: number;
  truncated: boolean;
}
interface LiveEvent {
  id?: string;
  state: string;
  display: string;
  attempt?: number;
  worker?: string;
}

interface Filters {
  task: string;
  state: string;
  key: string;
  from: string;
  to: string;
}
const NO_FILTERS: Filters = { task: '', state: '', key: '', from: '', to: '' };
const STATES = ['WAITING', 'PENDING', 'RUNNING', 'SUCCESS', 'FAILURE'];
const PAGE_SIZE = 20;

/** The query string of a page request: the filters the server applies, times as ISO instants. */
function queryOf(f: Filters, page: number): string {
  const q = new URLSearchParams({ page: String(page), size: String(PAGE_SIZE) });
  if (f.task) q.set('task', f.task.trim());
  if (f.state) q.set('state', f.state);
  if (f.key) q.set('key', f.key);
  if (f.from) q.set('from', new Date(f.from).toISOString());
  if (f.to) q.set('to', new Date(f.to).toISOString());
  return q.toString();
}

/** Invocations, newest first, filtered and paginated by the server; rows follow pushed state changes. */
export function InvocationsView() {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [pageNo, setPageNo] = useState(1);
  const [page, setPage] = useState<Page | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [shownQuery, setShownQuery] = useState('');
  const load = (): void => {
    const query = queryOf(filters, pageNo);
    api<Page>(`/api/invocations?${query}`).then((p) => (setPage(p), setShownQuery(query), setError(undefined))).catch((err) => setError(message(err)));
  };
  useEffect(load, [filters, pageNo]);
  useLive('reopened', load);
  const reload = useDebounced(load, 700);
  useLive<LiveEvent>('invocation', (e) => {
    if (e.state === 'EVENT' || e.id === undefined) return;
    const shown = page?.items.some((r) => r.id === e.id);
    if (shown) setPage((p) => p && { ...p, items: p.items.map((r) => (r.id === e.id ? { ...r, state: e.display, ...(e.attempt ? { attempts: Math.max(r.attempts, e.attempt) } : {}), ...(e.worker ? { worker: e.worker } : {}) } : r)) });
    else if (pageNo === 1) reload(); // a new invocation may belong on the first page
  });
  const field = (name: keyof Filters) => ({
    value: draft[name],
    onInput: (ev: Event) => setDraft({ ...draft, [name]: (ev.target as HTMLInputElement).value }),
  });
  const apply = (ev: Event): void => {
    ev.preventDefault();
    setPageNo(1);
    setFilters(draft);
  };
  return (
    <Panel title="Invocations" test="invocations">
      <form class="filters" onSubmit={apply}>
        <label>Task <input name="task" placeholder="any" {...field('task')} /></label>
        <label>State
          <select name="state" value={draft.state} onChange={(ev) => setDraft({ ...draft, state: (ev.target as HTMLSelectElement).value })}>
            <option value="">any</option>
            {STATES.map((s) => <option value={s}>{s}</option>)}
          </select>
        </label>
        <label>Key <input name="key" placeholder="any" {...field('key')} /></label>
        <label>From <input name="from" type="datetime-local" step="1" {...field('from')} /></label>
        <label>To <input name="to" type="datetime-local" step="1" {...field('to')} /></label>
        <button type="submit">Filter</button>
        <button type="button" class="plain" onClick={() => (setDraft(NO_FILTERS), setFilters(NO_FILTERS), setPageNo(1))}>Clear</button>
      </form>
      <ErrorLine error={error} />
      {page !== undefined && page.items.length === 0 ? <Empty>No invocation matches.</Empty> : (
        <table data-query={shownQuery}>
          <thead><tr><th>Invocation</th><th>Task</th><th>State</th><th class="num">Attempts</th><th>Worker</th><th>Key</th><th>Created</th></tr></thead>
          <tbody>
            {page?.items.map((r) => (
              <tr data-test="invocation-row" data-id={r.id} key={r.id}>
                <td class="mono"><a href={`#/invocations/${encodeURIComponent(r.id)}`}>{r.id}</a></td>
                <td>{r.task}</td>
                <td><State state={r.state} /></td>
                <td class="num">{r.attempts}</td>
                <td class="mono">{r.worker ?? ''}</td>
                <td class="mono">{r.key ?? ''}</td>
                <td class="time" title={r.createdAt}>{clock(r.createdAt)} <span class="muted">{relative(r.createdAt)}</span></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page !== undefined && (
        <div class="pager">
          <button type="button" disabled={page.page <= 1} onClick={() => setPageNo(page.page - 1)}>Previous</button>
          <span data-test="page">Page {page.page} of {page.pages}{page.truncated ? '+' : ''} · {page.total}{page.truncated ? '+' : ''} matching</span>
          <button type="button" disabled={page.page >= page.pages} onClick={() => setPageNo(page.page + 1)}>Next</button>
        </div>
      )}
    </Panel>
  );
}
