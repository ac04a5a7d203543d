import { useEffect, useState } from 'preact/hooks';
import { api, useDebounced, useLive } from '../api.js';
import { clock, json } from '../format.js';
import { Empty, ErrorLine, message, Panel, State } from './common.js';
import type { InvocationStory } from '@taskmesh/protocol';

interface InvocationRecord {
  id: string;
  task: string;
  state: string;
  attempts: number;
  argsDigest?: string;
  key?: string;
  worker?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  result?: unknown;
  failure?: { code: string; message: string; retryable: boolean; details?: unknown };
  parentId?: string;
  children: string[];
}
interface HistoryEntry {
  at?: string;
  state: string;
  attempt?: number;
  worker?: string;
  note?: string;
  fromRecord?: true;
}
interface TreeNode {
  id: string;
  task?: string;
  state?: string;
  missing?: true;
  more?: number;
  children: TreeNode[];
}
interface Detail {
  invocation: InvocationRecord;
  state: string;
  history: HistoryEntry[];
  progress?: unknown;
  tree: TreeNode;
}
interface LiveEvent {
  id?: string;
  state: string;
  display: string;
  eventType?: string;
  details?: unknown;
}

const FINAL = ['SUCCESS', 'FAILURE', 'CANCELLED'];

/** One invocation: its facts, progress, outcome, state history beside its story, and tree; cancel while it is not final. */
export function InvocationDetailView(props: { id: string }) {
  const [detail, setDetail] = useState<Detail | undefined>(undefined);
  const [progress, setProgress] = useState<unknown>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [version, setVersion] = useState(0);
  const load = (): void => {
    api<Detail>(`/api/invocations/${encodeURIComponent(props.id)}`)
      .then((d) => (setDetail(d), setProgress(d.progress), setVersion((v) => v + 1), setError(undefined)))
      .catch((err) => setError(message(err)));
  };
  useEffect(load, [props.id]);
  useLive('reopened', load);
  const reload = useDebounced(load, 300);
  useLive<LiveEvent>('invocation', (e) => {
    if (e.id !== props.id) return;
    if (e.state === 'EVENT' && e.eventType === 'progress') setProgress(e.details);
    else if (e.state !== 'EVENT') {
      // Shown at once; the re-read brings the record and history (the server judges the state from both).
      setDetail((d) => d && { ...d, state: e.display });
      reload();
    } else reload();
  });
  const cancel = (): void => {
    setBusy(true);
    api(`/api/invocations/${encodeURIComponent(props.id)}/cancel`, { method: 'POST' })
      .then(load)
      .catch((err) => setError(message(err)))
      .finally(() => setBusy(false));
  };
  if (detail === undefined) return <Panel title={`Invocation ${props.id}`}>{error ? <ErrorLine error={error} /> : <Empty>Loading…</Empty>}</Panel>;
  const r = detail.invocation;
  const final = FINAL.includes(detail.state);
  return (
    <div class="stack">
      <p class="crumbs"><a href="#/invocations">Invocations</a> / <span class="mono">{r.id}</span></p>
      <Panel
        title={`${r.task} · ${r.id}`}
        test="invocation-detail"
        actions={<>
          <State state={detail.state} />
          {!final && <button type="button" class="danger" disabled={busy} onClick={cancel} data-test="cancel">Cancel</button>}
        </>}
      >
        <ErrorLine error={error} />
        <dl class="facts">
          <dt>Attempts</dt><dd>{r.attempts}</dd>
          <dt>Worker</dt><dd class="mono">{r.worker ?? '—'}</dd>
          <dt>Key</dt><dd class="mono">{r.key ?? '—'}</dd>
          <dt>Created</dt><dd>{clock(r.createdAt)}</dd>
          <dt>Started</dt><dd>{clock(r.startedAt) || '—'}</dd>
          <dt>Finished</dt><dd>{clock(r.finishedAt) || '—'}</dd>
          <dt>Args digest</dt><dd class="mono" title="the record keeps a digest of the arguments, not the arguments">{r.argsDigest ?? '—'}</dd>
          <dt>Parent</dt><dd class="mono">{r.parentId ? <a href={`#/invocations/${encodeURIComponent(r.parentId)}`}>{r.parentId}</a> : '—'}</dd>
        </dl>
        {progress !== undefined && <Progress value={progress} />}
        {r.result !== undefined && <><h3>Result</h3><pre data-test="result">{json(r.result)}</pre></>}
        {r.failure !== undefined && <><h3>Failure</h3><pre class="failure" data-test="failure">{json(r.failure)}</pre></>}
      </Panel>
      <div class="grid two">
        <Panel title="State history" test="history">
          <table>
            <thead><tr><th>Time</th><th>State</th><th class="num">Attempt</th><th>Worker</th><th>Note</th></tr></thead>
            <tbody>
              {detail.history.map((h) => (
                <tr data-test="history-row">
                  <td title={h.at}>{clock(h.at) || '—'}</td>
                  <td><State state={h.state} /></td>
                  <td class="num">{h.attempt ?? ''}</td>
                  <td class="mono">{h.worker ?? ''}</td>
                  <td>{h.note ?? ''}{h.fromRecord ? <span class="muted"> (record)</span> : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
        <StoryPanel id={r.id} version={version} />
      </div>
      <Panel title="Parent and children" test="tree">
        <ul class="tree"><TreeItem node={detail.tree} current={r.id} /></ul>
      </Panel>
    </div>
  );
}

function TreeItem(props: { node: TreeNode; current: string }) {
  const n = props.node;
  return (
    <li>
      <span class={n.id === props.current ? 'node current' : 'node'}>
        <a class="mono" href={`#/invocations/${encodeURIComponent(n.id)}`}>{n.id}</a>
        {n.task && <span> {n.task}</span>}
        {n.state && <> <State state={n.state} /></>}
        {n.missing && <span class="muted"> (record gone)</span>}
        {n.more !== undefined && <span class="muted"> +{n.more} more</span>}
      </span>
      {n.children.length > 0 && <ul>{n.children.map((c) => <TreeItem node={c} current={props.current} />)}</ul>}
    </li>
  );
}

/** `{step, steps}` or `{done, total}` as a bar; anything else as JSON. */
function Progress(props: { value: unknown }) {
  const v = props.value as { step?: number; steps?: number; done?: number; total?: number } | null;
  const done = v?.step ?? v?.done;
  const total = v?.steps ?? v?.total;
  return (
    <div class="progress" data-test="progress">
      <h3>Progress</h3>
      {typeof done === 'number' && typeof total === 'number' && total > 0 ? (
        <div class="meter wide">
          <span class="meter-bar"><span style={{ width: `${Math.min(100, (100 * done) / total)}%` }} /></span>
          <span class="meter-text" data-test="progress-text">{done} / {total}</span>
        </div>
      ) : <pre>{json(props.value)}</pre>}
    </div>
  );
}

/** What the workers' cores logged about the invocation (`mesh.invocations.story`), read when the detail is. */
function StoryPanel(props: { id: string; version: number }) {
  const [story, setStory] = useState<InvocationStory | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    api<InvocationStory>(`/api/invocations/${encodeURIComponent(props.id)}/story`).then((s) => (setStory(s), setError(undefined))).catch((err) => setError(message(err)));
  }, [props.id, props.version]);
  const args = story === undefined ? undefined : argsOf(story);
  return (
    <Panel title="Story (the workers' logs)" test="story">
      <ErrorLine error={error} />
      {args !== undefined && <><h3>Arguments (as the worker ran it)</h3><pre data-test="args">{json(args)}</pre><h3>Lines</h3></>}
      {story !== undefined && story.entries.length === 0 && <Empty>No worker remembers this invocation.</Empty>}
      {story !== undefined && story.entries.length > 0 && (
        <div class="scroll"><table>
          <thead><tr><th>Time</th><th class="num">Attempt</th><th>Worker</th><th>Line</th></tr></thead>
          <tbody>
            {story.entries.map((e) => (
              <tr data-test="story-row" data-attempt={e.attempt ?? ''}>
                <td class="time" title={e.at}>{clock(e.at)}</td>
                <td class="num">{e.attempt ?? ''}</td>
                <td class="mono">{e.worker}</td>
                <td><span class={e.kind === 'stimulus' ? 'badge story-in' : 'badge story-out'}>{e.kind === 'stimulus' ? 'in' : 'out'}</span> <span class="mono">{e.type}</span>
                  {e.detail && <span class="muted small"> {compact(e.detail)}</span>}</td>
              </tr>
            ))}
          </tbody>
        </table></div>
      )}
      {story?.missing && story.missing.length > 0 && <p class="muted">Not remembered by any live worker: attempt {story.missing.map((m) => m.attempt).join(', ')}.</p>}
      {story?.truncated && <p class="muted">The oldest lines were left out.</p>}
    </Panel>
  );
}

/**
 * The arguments of the newest run: the record keeps only their digest, but a worker's `execute` instruction carries
 * them (a large value arrives as `{truncated, bytes}`).
 */
function argsOf(story: InvocationStory): unknown {
  for (let i = story.entries.length - 1; i >= 0; i--) {
    const e = story.entries[i]!;
    if (e.type === 'execute' && e.detail !== undefined && 'args' in e.detail) return e.detail['args'];
  }
  return undefined;
}

/** A detail object on one line, cut at 120 characters. */
function compact(detail: Record<string, unknown>): string {
  const text = JSON.stringify(detail);
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}
