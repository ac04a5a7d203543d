import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { api, useLive } from '../api.js';
import { appendSample, emptySeries, type Series } from '../../src/metrics/stats-series.js';
import type { ServiceRate, StatsSample } from '../../src/metrics/stats-delta.js';
import { Empty, Panel } from './common.js';

const COLORS = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2'];
const throughput = (r: ServiceRate): number => r.requestsPerSec;
const latency = (r: ServiceRate): number | undefined => r.meanMs;

/** Throughput and latency per service, from the apps' own `$SRV.STATS` counters (sampled by the server, pushed). */
export function MetricsView() {
  const [samples, setSamples] = useState<StatsSample[] | undefined>(undefined);
  const [rps, setRps] = useState<Series>(emptySeries());
  const [ms, setMs] = useState<Series>(emptySeries());
  const load = (): void => {
    api<{ samples: StatsSample[] }>('/api/stats').then((v) => {
      setSamples(v.samples);
      setRps(v.samples.reduce((s, x) => appendSample(s, x, throughput), emptySeries()));
      setMs(v.samples.reduce((s, x) => appendSample(s, x, latency), emptySeries()));
    }).catch(() => setSamples([]));
  };
  useEffect(load, []);
  useLive('reopened', load);
  useLive<StatsSample>('stats', (x) => {
    setSamples((old) => [...(old ?? []), x].slice(-300));
    setRps((s) => appendSample(s, x, throughput));
    setMs((s) => appendSample(s, x, latency));
  });
  const latest = samples?.at(-1);
  return (
    <div class="stack">
      <div class="grid two">
        <Panel title="Throughput (requests/s)" test="chart-throughput">
          {rps.data[0].length < 2 ? <Empty>Collecting samples…</Empty> : <Chart series={rps} unit="req/s" />}
        </Panel>
        <Panel title="Mean processing time (ms)" test="chart-latency">
          {ms.data[0].length < 2 ? <Empty>Collecting samples…</Empty> : <Chart series={ms} unit="ms" />}
        </Panel>
      </div>
      <Panel title="Services now" test="services">
        {latest === undefined ? <Empty>No sample yet: the first arrives after two reads of $SRV.STATS.</Empty> : (
          <table>
            <thead><tr><th>Service</th><th class="num">Instances</th><th class="num">Requests/s</th><th class="num">Errors/s</th><th class="num">Mean ms</th></tr></thead>
            <tbody>
              {latest.services.map((s) => (
                <tr data-test="service-row"><td class="mono">{s.service}</td><td class="num">{s.instances}</td><td class="num">{s.requestsPerSec}</td><td class="num">{s.errorsPerSec}</td><td class="num">{s.meanMs ?? '—'}</td></tr>
              ))}
            </tbody>
          </table>
        )}
      </Panel>
    </div>
  );
}

/** A uPlot line chart of `series`, sized to its panel; rebuilt when a service appears, fed new data otherwise. */
function Chart(props: { series: Series; unit: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const names = props.series.services.join('|');
  useEffect(() => {
    const el = box.current!;
    const opts: uPlot.Options = {
      width: el.clientWidth,
      height: 240,
      series: [{}, ...props.series.services.map((s, i) => ({ label: s.replace(/^taskmesh-/, ''), stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false }))],
      axes: [{}, { label: props.unit, size: 60 }],
      legend: { live: false },
    };
    plot.current = new uPlot(opts, props.series.data as uPlot.AlignedData, el);
    const resize = (): void => plot.current?.setSize({ width: el.clientWidth, height: 240 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.current?.destroy();
    };
  }, [names]);
  useEffect(() => plot.current?.setData(props.series.data as uPlot.AlignedData), [props.series]);
  return <div ref={box} class="chart" />;
}
