import { useEffect, useState } from 'preact/hooks';
import { api, useDebounced, useLive } from '../api.js';
import { clock, json } from '../format.js';
import { Empty, ErrorLine, message, Panel } from './common.js';
import type { DeadLetterView } from '@taskmesh/protocol';

type DeadLetter = DeadLetterView;

/** The invocation id a dead letter's body carries (a REQUEST's `id`), if any. */
function invocationOf(d: DeadLetter): string | undefined {
  const id = (d.body as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : undefined;
}

interface RedriveReply {
  redriven: string[];
  skipped: Array<{ id: string; reason: string }>;
  more?: boolean;
}

/** What a redrive did, in one line. */
function outcome(r: RedriveReply): string {
  const parts = [];
  if (r.redriven.length > 0) parts.push(`Redriven: ${r.redriven.join(', ')}.`);
  if (r.skipped.length > 0) parts.push(`Skipped: ${r.skipped.map((s) => `${s.id} (${s.reason})`).join(', ')}.`);
  if (r.more) parts.push('More are left: redrive again.');
  return parts.join(' ') || 'Nothing to redrive.';
}

interface Page {
  items: DeadLetter[];
  page: number;
  pages: number;
  total: number;
  truncated: boolean;
}

/** The newest dead letters, a page at a time (cut by the server); one inspected in place. A failure pushed live makes the list read again. */
export function DeadLettersView() {
  const [page, setPage] = useState<Page | undefined>(undefined);
  const [pageNo, setPageNo] = useState(1);
  const [open, setOpen] = useState<number | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const redrive = (target: { id: string } | { all: true }): void => {
    setBusy(true);
    api<RedriveReply>('/api/deadletters/redrive', { method: 'POST', body: target })
      .then((r) => (setDone(outcome(r)), setError(undefined), load()))
      .catch((err) => setError(message(err)))
      .finally(() => setBusy(false));
  };
  const load = (): void => {
    api<Page>(`/api/deadletters?page=${pageNo}&size=25`).then((p) => (setPage(p), setError(undefined))).catch((err) => setError(message(err)));
  };
  useEffect(load, [pageNo]);
  const letters = page?.items;
  useLive('reopened', load);
  const reload = useDebounced(load, 1000);
  useLive<{ state: string }>('invocation', (e) => e.state === 'FAILURE' && reload());
  const inspected = letters?.find((d) => d.seq === open);
  return (
    <div class="grid two">
      <Panel
        title={`Dead letters (${page?.total ?? 0}${page?.truncated ? '+' : ''})`}
        test="deadletters"
        actions={letters !== undefined && letters.length > 0 && (
          <button type="button" disabled={busy} data-test="redrive-all" onClick={() => confirm('Put every dead letter back on the work queue?') && redrive({ all: true })}>Redrive all</button>
        )}
      >
        <ErrorLine error={error} />
        {done && <p class="note" data-test="redrive-outcome">{done}</p>}
        {letters !== undefined && letters.length === 0 ? <Empty>No dead letter.</Empty> : (
          <table>
            <thead><tr><th class="num">Seq</th><th>Task</th><th>Invocation</th><th>Reason</th><th class="num">Deliveries</th><th>At</th></tr></thead>
            <tbody>
              {letters?.map((d) => (
                <tr data-test="deadletter-row" data-seq={d.seq} class={d.seq === open ? 'selected clickable' : 'clickable'} onClick={() => setOpen(d.seq)} key={d.seq}>
                  <td class="num">{d.seq}</td>
                  <td>{d.task}</td>
                  <td class="mono wrap">{invocationOf(d) ?? '—'}</td>
                  <td class="reason">{d.reason}</td>
                  <td class="num">{d.deliveries ?? ''}</td>
                  <td class="time">{clock(d.at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {page !== undefined && page.pages > 1 && (
          <div class="pager">
            <button type="button" disabled={page.page <= 1} onClick={() => setPageNo(page.page - 1)}>Previous</button>
            <span>Page {page.page} of {page.pages}</span>
            <button type="button" disabled={page.page >= page.pages} onClick={() => setPageNo(page.page + 1)}>Next</button>
          </div>
        )}
      </Panel>
      <Panel title={inspected ? `Dead letter ${inspected.seq}` : 'Inspect'} test="deadletter-detail">
        {inspected === undefined ? <Empty>Select a dead letter to see its message.</Empty> : (
          <>
            <dl class="facts">
              <dt>Task</dt><dd>{inspected.task}</dd>
              <dt>Reason</dt><dd>{inspected.reason}</dd>
              <dt>From</dt><dd class="mono">{inspected.fromStream ?? '—'} #{inspected.fromSeq ?? '—'}</dd>
              <dt>Deliveries</dt><dd>{inspected.deliveries ?? '—'}</dd>
              <dt>Dead since</dt><dd>{clock(inspected.at) || '—'}</dd>
              <dt>Invocation</dt><dd class="mono">{invocationOf(inspected) ? <a href={`#/invocations/${encodeURIComponent(invocationOf(inspected)!)}`}>{invocationOf(inspected)}</a> : '—'}</dd>
            </dl>
            {invocationOf(inspected) && (
              <p><button type="button" disabled={busy} data-test="redrive" onClick={() => redrive({ id: invocationOf(inspected)! })}>Redrive {invocationOf(inspected)}</button>
                <span class="muted"> runs it again as its next attempt</span></p>
            )}
            <h3>Message</h3>
            <pre>{json(inspected.body)}</pre>
          </>
        )}
      </Panel>
    </div>
  );
}
