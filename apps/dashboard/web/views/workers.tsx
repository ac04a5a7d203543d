import { useEffect, useState } from 'preact/hooks';
import { api, useLive } from '../api.js';
import { clock, duration } from '../format.js';
import { Empty, ErrorLine, message, Panel } from './common.js';

interface Worker {
  id: string;
  tasks: string[];
  capacity: number;
  inflight: number;
  lastSeenMs: number;
  uptimeMs: number;
}
interface WorkerEvent {
  event: 'joined' | 'expired';
  worker: string;
  at: string;
}

/** The live workers (pushed every period) and their joined/expired events as they happen. */
export function WorkersView() {
  const [workers, setWorkers] = useState<Worker[] | undefined>(undefined);
  const [events, setEvents] = useState<WorkerEvent[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const load = (): void => {
    api<{ workers: Worker[]; events: WorkerEvent[] }>('/api/workers')
      .then((v) => (setWorkers(v.workers), setEvents(v.events.reverse())))
      .catch((err) => setError(message(err)));
  };
  useEffect(load, []);
  useLive('reopened', load);
  useLive<Worker[]>('workers', (w) => (setWorkers(w), setError(undefined)));
  useLive<WorkerEvent>('worker', (e) => setEvents((old) => [e, ...old].slice(0, 50)));
  const list = [...(workers ?? [])].sort((a, b) => a.id.localeCompare(b.id));
  const slots = list.reduce((n, w) => n + w.capacity, 0);
  const busy = list.reduce((n, w) => n + w.inflight, 0);
  return (
    <div class="grid two-one">
      <Panel title={`Live workers (${list.length})`} actions={<span class="muted">{busy} of {slots} slots busy</span>} test="workers">
        <ErrorLine error={error} />
        {workers !== undefined && list.length === 0 ? <Empty>No live worker. Start one: <code>node dist/apps/worker/main.js</code></Empty> : (
          <table>
            <thead><tr><th>Worker</th><th>Tasks</th><th class="num">Slots</th><th>In flight</th><th class="num">Heartbeat</th><th class="num">Up</th></tr></thead>
            <tbody>
              {list.map((w) => (
                <tr data-test="worker-row" data-id={w.id} key={w.id}>
                  <td class="mono">{w.id}</td>
                  <td class="tasks">{w.tasks.length === 0 ? <span class="muted">draining</span> : w.tasks.join(', ')}</td>
                  <td class="num">{w.capacity}</td>
                  <td><Meter value={w.inflight} max={w.capacity} /></td>
                  <td class="num" data-test="heartbeat">{duration(w.lastSeenMs)} ago</td>
                  <td class="num">{duration(w.uptimeMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Panel>
      <Panel title="Joined and expired" test="worker-events">
        {events.length === 0 ? <Empty>No worker joined or expired since the dashboard started.</Empty> : (
          <ul class="events">
            {events.map((e) => (
              <li data-test="worker-event"><span class="muted">{clock(e.at)}</span> <span class={`badge ev-${e.event}`}>{e.event}</span> <span class="mono">{e.worker}</span></li>
            ))}
          </ul>
        )}
      </Panel>
    </div>
  );
}

function Meter(props: { value: number; max: number }) {
  const pct = props.max > 0 ? Math.min(100, (100 * props.value) / props.max) : 0;
  return (
    <span class="meter" title={`${props.value} of ${props.max}`}>
      <span class="meter-bar"><span style={{ width: `${pct}%` }} /></span>
      <span class="meter-text" data-test="inflight">{props.value}</span>
    </span>
  );
}
