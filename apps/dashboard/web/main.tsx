// The dashboard page: five views behind a hash route, each reading the API once and then following the pushed
// updates (server-sent events on /api/live); nothing here polls the server.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { connectLive, onLiveStatus } from './api.js';
import { DeadLettersView } from './views/dead-letters.js';
import { DispatchesView } from './views/dispatches.js';
import { InvocationDetailView } from './views/invocation-detail.js';
import { InvocationsView } from './views/invocations.js';
import { MetricsView } from './views/metrics.js';
import { WorkersView } from './views/workers.js';

const VIEWS = [
  { path: 'workers', title: 'Workers' },
  { path: 'invocations', title: 'Invocations' },
  { path: 'dispatches', title: 'Dispatches' },
  { path: 'deadletters', title: 'Dead letters' },
  { path: 'metrics', title: 'Metrics' },
] as const;

function useRoute(): string[] {
  const read = (): string[] => (location.hash.replace(/^#\/?/, '') || 'workers').split('/').map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = (): void => setRoute(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

function App() {
  const [view, id] = useRoute();
  const [live, setLive] = useState(false);
  useEffect(() => onLiveStatus(setLive), []);
  return (
    <>
      <header>
        <span class="brand">taskmesh</span>
        <nav>
          {VIEWS.map((v) => <a href={`#/${v.path}`} class={view === v.path ? 'active' : ''} data-nav={v.path}>{v.title}</a>)}
        </nav>
        <span class={live ? 'live on' : 'live'} data-test="live">{live ? 'live' : 'reconnecting'}</span>
      </header>
      <main>
        {view === 'workers' && <WorkersView />}
        {view === 'invocations' && (id === undefined ? <InvocationsView /> : <InvocationDetailView id={id} />)}
        {view === 'dispatches' && <DispatchesView />}
        {view === 'deadletters' && <DeadLettersView />}
        {view === 'metrics' && <MetricsView />}
      </main>
    </>
  );
}

connectLive();
render(<App />, document.getElementById('app')!);
