/**
 * Chart series from stats samples, pure (the page keeps one per chart): uPlot's column layout, `[times (s),
 * ...one column per service]`, with the newest `maxPoints` samples. A service missing from a sample is a gap
 * (null), one that appears later gets nulls before it.
 */
import type { StatsSample, ServiceRate } from './stats-delta.js';

/** The columns of a chart: the services, in the order their columns appear, and uPlot's data. */
export interface Series {
  services: string[];
  data: [number[], ...Array<Array<number | null>>];
}

/** Samples kept per chart: 10 minutes at the default 2 s period. */
export const MAX_POINTS = 300;

/** An empty series. */
export function emptySeries(): Series {
  return { services: [], data: [[]] };
}

/** `series` with `sample` appended (a new object; the oldest dropped past `maxPoints`); `pick` reads the value. */
export function appendSample(series: Series, sample: StatsSample, pick: (rate: ServiceRate) => number | undefined, maxPoints = MAX_POINTS): Series {
  const services = [...series.services];
  const columns = series.data.slice(1).map((c) => [...c]);
  const times = [...series.data[0]];
  for (const rate of sample.services) {
    if (!services.includes(rate.service)) {
      services.push(rate.service);
      columns.push(times.map(() => null));
    }
  }
  times.push(sample.at / 1000);
  services.forEach((name, i) => {
    const rate = sample.services.find((r) => r.service === name);
    const value = rate === undefined ? undefined : pick(rate);
    columns[i]!.push(value === undefined ? null : value);
  });
  const drop = Math.max(0, times.length - maxPoints);
  return { services, data: [times.slice(drop), ...columns.map((c) => c.slice(drop))] };
}
