import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { createDirectPath, type SmartDirectPath } from '@taskmesh/client';
import { Role, type ResponseMessage } from '@taskmesh/protocol';
import { permissionViolations, ProcessGroup, spawnApp, startNatsServer, waitFor, type AppProcess, type NatsServer } from '@taskmesh/testing';

type Run = { worker: string; startedAt: string; finishedAt: string; attempt: number };

// A client's smart direct mode against a real mesh with NO router: only nats-server and workers run, so every
// answer below came straight from a worker. A short expiry so the client notices a lost worker within about a second.
describe('SDK direct (smart mode, no router)', () => {
  const group = new ProcessGroup();
  let server: NatsServer;
  /** The client, connected as a caller. */
  let nc: NatsConnection;
  /** Reads the streams: the admin's view. */
  let admin: NatsConnection;
  let path: SmartDirectPath;
  const workers: AppProcess[] = [];
  const env = { MESH_NOTIFY_PERIOD_MS: '200', MESH_EXPIRES_AFTER_MS: '1000' };

  const addWorker = async (id: string): Promise<AppProcess> => {
    const w = group.add(spawnApp('worker', { ...server.appEnv(Role.Worker), MESH_HTTP_PORT: '0', LOG_LEVEL: 'info', MESH_WORKER_ID: id, ...env }, { name: id }));
    await w.waitForLine(/"worker started"/, 20_000);
    workers.push(w);
    return w;
  };
  const live = (): string[] => path.workers().map((w) => w.id).sort();
  const call = (task: string, args: unknown, extra: { key?: string; timeoutMs?: number } = {}): Promise<ResponseMessage> =>
    path.call(task, args, { delivery: 'direct', timeoutMs: 10_000, ...extra });

  /** Every report workers send on this client's reply subjects, by invocation id, in arrival order. */
  const watchReports = (): { byId: Map<string, ResponseMessage[]>; sub: Subscription } => {
    const byId = new Map<string, ResponseMessage[]>();
    const sub = nc.subscribe(`mesh.reply.${path.clientId}.*`, {
      callback: (_e, m: Msg) => {
        const r = m.json<ResponseMessage>();
        if (r.id) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
      },
    });
    return { byId, sub };
  };

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url, ...server.login(Role.Caller), noAsyncTraces: true });
    admin = await connect({ servers: server.url, ...server.login(Role.Admin), noAsyncTraces: true });
    await Promise.all([addWorker('w1'), addWorker('w2')]);
    path = await createDirectPath(nc, { prefix: 'mesh', expiresAfterMs: 1000, notifyPeriodMs: 200 });
    await waitFor(() => live().length === 2, { timeoutMs: 5_000, what: 'the client to learn both workers' });
  }, 60_000);
  afterAll(async () => {
    await path?.close();
    await Promise.all([nc, admin].map((c) => c?.close().catch(() => undefined)));
    await group.stopAll();
    const violations = server ? permissionViolations({ logFiles: [server.logFile], apps: workers }) : [];
    await server?.stop();
    expect(violations).toEqual([]);
  }, 30_000);

  it('calls echo straight on a worker: no router runs, and no stream gets a message', async () => {
    // Nobody serves the router's subjects in this mesh.
    await expect(nc.request('mesh.call.echo', JSON.stringify({ args: 1 }), { timeout: 2_000 })).rejects.toThrow(/no responders/i);
    const jsm = await jetstreamManager(admin);
    const seqs = async (): Promise<Record<string, number>> => {
      const out: Record<string, number> = {};
      for await (const s of jsm.streams.list()) out[s.config.name] = s.state.last_seq;
      return out;
    };
    const before = await seqs();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => call('echo', { i })));
    expect(results.map((r) => r.state)).toEqual(Array(50).fill('SUCCESS'));
    expect(results.map((r) => (r.result as { i: number }).i)).toEqual([...Array(50).keys()]);
    expect(results.every((r) => r.attempt === 1 && (r.worker === 'w1' || r.worker === 'w2'))).toBe(true);
    expect(await seqs()).toEqual(before);
    expect(path.stats()).toMatchObject({ waiting: 0, rejected: 0, invalid: 0 });
  }, 30_000);

  it('accepts only what may go direct: a direct call or a task declared direct, needing no record, with known traits', () => {
    expect(path.accepts('echo', { delivery: 'direct' })).toBe(true);
    expect(path.accepts('ping', {})).toBe(true);
    expect(path.accepts('echo', {})).toBe(false);
    expect(path.accepts('ping', { delivery: 'durable' })).toBe(false);
    expect(path.accepts('echo', { delivery: 'direct', id: 'order-1' })).toBe(false);
    expect(path.accepts('report', { delivery: 'direct' })).toBe(false);
    expect(path.accepts('exclusive', { delivery: 'direct' })).toBe(false);
    expect(path.accepts('no-such-task', { delivery: 'direct' })).toBe(false);
  });

  it('places calls with a key on one worker, which runs them one at a time in the order sent', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => call('sleep', { ms: 50 }, { key: 'customer-42' })));
    expect(results.every((r) => r.state === 'SUCCESS')).toBe(true);
    const runs = results.map((r) => r.result as Run);
    expect(new Set(runs.map((r) => r.worker)).size).toBe(1);
    for (let i = 1; i < runs.length; i++) expect(Date.parse(runs[i].startedAt)).toBeGreaterThanOrEqual(Date.parse(runs[i - 1].finishedAt));
  }, 30_000);

  /** Calls `task` and returns the answer and the worker that reported it RUNNING. */
  const startOne = async (task: string, ms: number): Promise<{ answer: Promise<ResponseMessage>; worker: string; id: string; sub: Subscription }> => {
    const { byId, sub } = watchReports();
    await nc.flush();
    const answer = call(task, { ms }, { timeoutMs: 20_000 });
    const [id, reports] = await waitFor(() => [...byId].find(([, rs]) => rs.some((r) => r.state === 'RUNNING')), { timeoutMs: 10_000, what: `${task} to start` });
    return { answer, worker: reports[0].worker!, id, sub };
  };
  const named = (name: string): AppProcess => workers.find((w) => w.name === name)!;

  it('answers CANCELLED at once when the caller aborts, and counts the worker\'s later result as rejected', async () => {
    const { byId, sub } = watchReports();
    await nc.flush();
    const abort = new AbortController();
    const answer = path.call('sleep', { ms: 1000 }, { delivery: 'direct', timeoutMs: 10_000, signal: abort.signal });
    const [id] = await waitFor(() => [...byId].find(([, rs]) => rs.some((r) => r.state === 'RUNNING')), { timeoutMs: 10_000, what: 'sleep to start' });
    const rejectedBefore = path.stats().rejected;
    abort.abort();
    expect(await answer).toMatchObject({ id, state: 'FAILURE', failure: { code: 'CANCELLED' } });
    await waitFor(() => byId.get(id)?.some((r) => r.state === 'SUCCESS'), { timeoutMs: 5_000, what: 'the worker to finish the abandoned call' });
    await waitFor(() => path.stats().rejected === rejectedBefore + 1, { timeoutMs: 2_000, what: 'its late result to be rejected' });
    sub.unsubscribe();
  }, 30_000);

  it('sends an idempotent task again to another worker when its worker is killed -9 mid-run', async () => {
    const { answer, worker, id, sub } = await startOne('sleep', 2500);
    const killedAt = performance.now();
    named(worker).kill('SIGKILL');
    const r = await answer;
    sub.unsubscribe();
    expect(r).toMatchObject({ id, state: 'SUCCESS', attempt: 2 });
    expect(r.worker).not.toBe(worker);
    expect(live()).not.toContain(worker);
    console.log(`SDK direct recovery: ${id} killed on ${worker}, answered by ${r.worker} (attempt 2) ${Math.round(performance.now() - killedAt)} ms after the kill (expiry 1000 ms, task 2500 ms)`);
    await addWorker(`${worker}b`);
    await waitFor(() => live().length === 2, { timeoutMs: 5_000, what: 'the replacement worker to be live' });
  }, 40_000);

  it('answers WORKER_LOST when the worker of a non-idempotent task is killed -9 mid-run', async () => {
    const { answer, worker, id, sub } = await startOne('sleep-once', 5000);
    named(worker).kill('SIGKILL');
    const r = await answer;
    sub.unsubscribe();
    expect(r).toMatchObject({ id, state: 'FAILURE', failure: { code: 'WORKER_LOST', retryable: false } });
    expect(r.failure?.message).toContain(worker);
  }, 40_000);

  it('accepts no call once no live worker offers the task', async () => {
    for (const w of workers) w.kill('SIGKILL');
    await waitFor(() => live().length === 0, { timeoutMs: 5_000, what: 'every worker to expire' });
    expect(path.accepts('echo', { delivery: 'direct' })).toBe(false);
    expect(path.accepts('ping', {})).toBe(false);
    // Called anyway, it is answered at once, never silence.
    expect(await call('echo', 1)).toMatchObject({ state: 'FAILURE', failure: { code: 'OVERLOADED', retryable: true } });
  }, 30_000);
});
