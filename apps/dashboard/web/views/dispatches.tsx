import { useEffect, useState } from 'preact/hooks';
import { api, useDebounced, useLive } from '../api.js';
import { clock, relative } from '../format.js';
import { Empty, ErrorLine, message, Panel } from './common.js';

interface Dispatch {
  id: string;
  task: string;
  start: string;
  recurrence?: string | { cron: string };
  timezone?: string;
  duration?: number;
  active: boolean;
}
interface Upcoming {
  id: string;
  occurrences: string[];
}
interface Activity {
  id: string;
  event: string;
  at: string;
  occurrence?: string;
  task: string;
}
interface View {
  dispatches: Dispatch[];
  upcoming: Upcoming[];
  events: Activity[];
}

function schedule(d: Dispatch): string {
  const zone = d.timezone && d.timezone !== 'UTC' ? ` (${d.timezone})` : '';
  if (d.recurrence === undefined) return 'once';
  return (typeof d.recurrence === 'string' ? d.recurrence : `cron ${d.recurrence.cron}`) + zone;
}

/** A clock that re-renders the countdowns every second (local: nothing is asked of the server). */
function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, []);
  return now;
}

/** Dispatches on a timeline of their next occurrences, their running-state events as they happen, pause/resume and delete. */
export function DispatchesView() {
  const [view, setView] = useState<View | undefined>(undefined);
  const [events, setEvents] = useState<Activity[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const now = useNow();
  const load = (): void => {
    api<View>('/api/dispatches').then((v) => (setView(v), setError(undefined))).catch((err) => setError(message(err)));
  };
  useEffect(() => {
    api<View>('/api/dispatches').then((v) => (setView(v), setEvents(v.events.reverse()))).catch((err) => setError(message(err)));
  }, []);
  useLive('reopened', load);
  const reload = useDebounced(load, 300);
  useLive<Activity>('dispatch', (e) => {
    setEvents((old) => [e, ...old].slice(0, 50));
    reload();
  });
  // An occurrence that passed: the next ones move up (the scheduler's `started` event usually said so already).
  const next = new Map(view?.upcoming.map((u) => [u.id, u.occurrences.filter((o) => Date.parse(o) > now - 1000)]) ?? []);
  const act = (p: Promise<unknown>): void => void p.then(load).catch((err) => setError(message(err)));
  return (
    <div class="stack">
      <Panel title="Next occurrences" test="timeline">
        <ErrorLine error={error} />
        {view !== undefined && view.dispatches.length === 0 ? <Empty>No dispatch. Create one: <code>npx taskmesh dispatches create echo '{"{}"}' --every 'FREQ=MINUTELY'</code></Empty>
          : view && <Timeline dispatches={view.dispatches} next={next} now={now} />}
      </Panel>
      <div class="grid two-one">
        <Panel title={`Dispatches (${view?.dispatches.length ?? 0})`} test="dispatches">
          {view !== undefined && view.dispatches.length > 0 && (
            <table>
              <thead><tr><th>Dispatch</th><th>Task</th><th>Schedule</th><th>Next</th><th>State</th><th /></tr></thead>
              <tbody>
                {view.dispatches.map((d) => {
                  const first = next.get(d.id)?.[0];
                  return (
                    <tr data-test="dispatch-row" data-id={d.id} key={d.id}>
                      <td class="mono">{d.id}</td>
                      <td>{d.task}</td>
                      <td class="mono small">{schedule(d)}</td>
                      <td data-test="next">{first ? <>{clock(first)} <span class="muted">{relative(first, now)}</span></> : <span class="muted">{d.active ? 'none left' : 'paused'}</span>}</td>
                      <td>{d.active ? <span class="badge ev-joined">active</span> : <span class="badge ev-expired">paused</span>}</td>
                      <td class="actions">
                        <button type="button" data-test="toggle" onClick={() => act(api(`/api/dispatches/${d.id}`, { method: 'PATCH', body: { active: !d.active } }))}>{d.active ? 'Pause' : 'Resume'}</button>
                        <button type="button" class="danger" data-test="delete" onClick={() => confirm(`Delete dispatch ${d.id}?`) && act(api(`/api/dispatches/${d.id}`, { method: 'DELETE' }))}>Delete</button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </Panel>
        <Panel title="Running state and changes" test="dispatch-events">
          {events.length === 0 ? <Empty>No dispatch event since the dashboard started.</Empty> : (
            <ul class="events">
              {events.map((e) => (
                <li data-test="dispatch-event">
                  <span class="muted">{clock(e.at)}</span> <span class={`badge dev-${e.event}`}>{e.event}</span> <span class="mono">{e.id}</span>
                  {e.occurrence && <span class="muted"> occurrence {clock(e.occurrence)}</span>}
                </li>
              ))}
            </ul>
          )}
        </Panel>
      </div>
    </div>
  );
}

/** The windows the timeline can show, shortest first. */
const WINDOWS = [
  { label: '1 min', ms: 60_000 }, { label: '10 min', ms: 600_000 }, { label: '1 h', ms: 3_600_000 },
  { label: '6 h', ms: 21_600_000 }, { label: '1 day', ms: 86_400_000 }, { label: '7 days', ms: 604_800_000 },
];

/**
 * One row per dispatch, its next occurrences as marks on a shared axis from now. The window is the shortest that
 * shows every active dispatch's next occurrence, unless the operator picks one; later occurrences are named at the
 * row's end.
 */
function Timeline(props: { dispatches: Dispatch[]; next: Map<string, string[]>; now: number }) {
  const [picked, setPicked] = useState<number | undefined>(undefined);
  const firsts = [...props.next.values()].map((o) => Date.parse(o[0] ?? '')).filter((t) => !Number.isNaN(t));
  const fits = WINDOWS.find((w) => firsts.every((t) => t <= props.now + w.ms)) ?? WINDOWS.at(-1)!;
  const span = picked ?? fits.ms;
  const end = props.now + span;
  const x = (t: number): number => (100 * (t - props.now)) / span;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => props.now + f * span);
  return (
    <div class="timeline">
      <div class="windows">
        {WINDOWS.map((w) => <button type="button" class={w.ms === span ? 'on' : ''} onClick={() => setPicked(w.ms)}>{w.label}</button>)}
      </div>
      <div class="tl-row tl-axis">
        <span class="tl-label" />
        <span class="tl-track">{ticks.map((t, i) => <span class="tl-tick" style={{ left: `${x(t)}%` }}>{i === 0 ? 'now' : `+${relative(new Date(t).toISOString(), props.now).replace('in ', '')}`}</span>)}</span>
      </div>
      {props.dispatches.map((d) => {
        const occurrences = props.next.get(d.id) ?? [];
        const shown = occurrences.filter((o) => Date.parse(o) <= end);
        const later = occurrences.find((o) => Date.parse(o) > end);
        return (
          <div class="tl-row" data-test="timeline-row" data-id={d.id}>
            <span class="tl-label mono" title={d.task}>{d.id}</span>
            <span class={d.active ? 'tl-track' : 'tl-track paused'}>
              {shown.map((o) => <span class="tl-mark" style={{ left: `${x(Date.parse(o))}%` }} title={`${d.id}: ${clock(o)}`} data-test="occurrence" data-at={o} />)}
              {!d.active ? <span class="tl-beyond">paused</span> : shown.length === 0 && later ? <span class="tl-beyond">next {relative(later, props.now)} →</span> : null}
            </span>
          </div>
        );
      })}
    </div>
  );
}
