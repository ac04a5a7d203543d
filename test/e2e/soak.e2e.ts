import { readFileSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { startMesh, type Mesh, type Response } from './support/mesh-fixture.js';

/**
 * Steady load against a real mesh: after warm-up, memory and the store stay flat (docs/ARCHITECTURE.md, "Retention
 * and sizing"). CI runs 75 s; TASKMESH_SOAK_MS=600000 runs the long form (10 minutes).
 */
const SOAK_MS = Number(process.env.TASKMESH_SOAK_MS ?? 75_000);
const CALLERS = 16;
const SAMPLE_EVERY_MS = 2_500;
/** The bounds this mesh runs with: small, so the store reaches them well within the CI run. */
const MAX_RECORDS = 20_000;
const GENERATED_AGE_MS = 10_000;
const EVENTS_AGE_MS = 15_000;
/**
 * Tolerances, last quarter against the second: a store may not grow by more than a quarter (one that keeps every
 * call grows by 2.3x between those quarters), a process's RSS by more than 25% plus 40 MB (a node process's heap
 * swings by tens of MB between collections; a leak of 1 KB per call at this rate is 50 MB per quarter minute).
 */
const STORE_GROWTH = 1.25;
const STORE_SLACK_BYTES = 2 * 1_048_576;
const RSS_GROWTH = 1.25;
const RSS_SLACK_MB = 40;

interface Sample {
  at: number;
  calls: number;
  rssMb: Record<string, number>;
  streams: Record<string, { messages: number; bytes: number }>;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

describe(`soak: ${CALLERS} callers for ${SOAK_MS / 1000} s`, () => {
  let mesh: Mesh;

  beforeAll(async () => {
    mesh = await startMesh({
      workers: 2, orchestrators: 1,
      env: {
        MESH_SWEEP_EVERY_MS: '1000', MESH_PURGE_GENERATED_AFTER_MS: String(GENERATED_AGE_MS),
        MESH_INVOCATIONS_MAX_RECORDS: String(MAX_RECORDS), MESH_EVENTS_MAX_AGE_MS: String(EVENTS_AGE_MS),
      },
    });
  }, 60_000);
  afterAll(async () => mesh?.stop(), 30_000);

  it('keeps the RSS of nats-server and every app, and every mesh stream and bucket, flat after warm-up', async () => {
    const jsm = await jetstreamManager(mesh.admin);
    const processes = { 'nats-server': mesh.server.pid, router: mesh.router.pid, orchestrator: mesh.orchestrators[0]!.pid, ...Object.fromEntries(mesh.workers.map((w, i) => [`worker-${i + 1}`, w.pid])) };
    let calls = 0;
    const failures = new Map<string, number>();
    const until = Date.now() + SOAK_MS;
    const caller = async (): Promise<void> => {
      while (Date.now() < until) {
        const r = await mesh.request('echo', { args: { text: 'soak' } }, 30_000).then((m) => m.json<Response>(), (err: unknown) => ({ state: 'ERROR', data: { failure: { code: String(err) } } }) as Response);
        if (r.state === 'SUCCESS') calls++;
        else failures.set(r.data?.failure?.code ?? r.state, (failures.get(r.data?.failure?.code ?? r.state) ?? 0) + 1);
      }
    };
    const samples: Sample[] = [];
    const sample = async (): Promise<void> => {
      const streams: Sample['streams'] = {};
      for await (const info of jsm.streams.list()) {
        if (info.config.name.startsWith('MESH_') || info.config.name.startsWith('KV_MESH_')) streams[info.config.name] = { messages: info.state.messages, bytes: info.state.bytes };
      }
      samples.push({ at: Date.now(), calls, rssMb: Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, rssMb(pid)])), streams });
    };
    const started = Date.now();
    const sampling = (async () => {
      while (Date.now() < until) {
        await sample();
        await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
      }
    })();
    await Promise.all([...Array.from({ length: CALLERS }, caller), sampling]);
    await sample();

    // Figures.
    const quarter = (q: number): Sample[] => samples.filter((s) => s.at - started >= (q - 1) * SOAK_MS / 4 && s.at - started < q * SOAK_MS / 4 + (q === 4 ? 1e9 : 0));
    const [second, last] = [quarter(2), quarter(4)];
    const rate = calls / (SOAK_MS / 1000);
    /** Calls a second during a quarter's samples. */
    const quarterRate = (ss: Sample[]): number => Math.max(1, (ss.at(-1)!.calls - ss[0]!.calls) / Math.max(1, (ss.at(-1)!.at - ss[0]!.at) / 1000));
    const lines = [`calls: ${calls} (${rate.toFixed(0)}/s), failures: ${JSON.stringify(Object.fromEntries(failures))}, samples: ${samples.length}`];
    lines.push('RSS MB             2nd quarter  last quarter  max');
    for (const name of Object.keys(processes)) {
      const [a, b] = [mean(second.map((s) => s.rssMb[name]!)), mean(last.map((s) => s.rssMb[name]!))];
      lines.push(`${name.padEnd(18)} ${a.toFixed(1).padStart(11)}  ${b.toFixed(1).padStart(12)}  ${Math.max(...samples.map((s) => s.rssMb[name]!)).toFixed(1).padStart(6)}`);
    }
    lines.push('stream                 msgs Q2    msgs Q4     bytes Q2     bytes Q4   max msgs');
    const names = Object.keys(samples.at(-1)!.streams).sort();
    for (const name of names) {
      const m = (ss: Sample[], f: 'messages' | 'bytes'): number => mean(ss.map((s) => s.streams[name]?.[f] ?? 0));
      lines.push(`${name.padEnd(20)} ${m(second, 'messages').toFixed(0).padStart(10)} ${m(last, 'messages').toFixed(0).padStart(10)} ${m(second, 'bytes').toFixed(0).padStart(12)} ${m(last, 'bytes').toFixed(0).padStart(12)} ${Math.max(...samples.map((s) => s.streams[name]?.messages ?? 0)).toString().padStart(10)}`);
    }
    lines.push(`calls/s: 2nd quarter ${quarterRate(second).toFixed(0)}, last quarter ${quarterRate(last).toFixed(0)}`);
    console.log(lines.join('\n'));

    expect(second.length).toBeGreaterThanOrEqual(2);
    expect(last.length).toBeGreaterThanOrEqual(2);
    expect(Object.fromEntries(failures)).toEqual({});
    // Steady load: at least a few hundred calls a second on the 2-core CI machine.
    expect(rate).toBeGreaterThan(100);
    // The records never exceed the count bound, and no stream grows between the second quarter and the last.
    expect(Math.max(...samples.map((s) => s.streams.KV_MESH_INVOCATIONS?.messages ?? 0))).toBeLessThanOrEqual(MAX_RECORDS);
    // A store bounded by age holds rate x age: compared per call a second of each quarter, as throughput on a
    // shared machine varies (an unbounded store still grows 2.3x).
    const [rate2, rate4] = [quarterRate(second), quarterRate(last)];
    for (const name of names) {
      const bytes = (ss: Sample[]): number => mean(ss.map((s) => s.streams[name]?.bytes ?? 0));
      const grew = bytes(last) / rate4 > STORE_GROWTH * (bytes(second) / rate2) + STORE_SLACK_BYTES / rate4;
      expect({ stream: name, grewTooMuch: grew }).toEqual({ stream: name, grewTooMuch: false });
    }
    for (const name of Object.keys(processes)) {
      const rss = (ss: Sample[]): number => mean(ss.map((s) => s.rssMb[name]!));
      expect({ process: name, grewTooMuch: rss(last) > RSS_GROWTH * rss(second) + RSS_SLACK_MB }).toEqual({ process: name, grewTooMuch: false });
    }
  }, SOAK_MS + 120_000);
});
