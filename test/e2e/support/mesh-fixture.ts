import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { Role } from '@taskmesh/protocol';
import { permissionViolations, ProcessGroup, spawnApp, startNatsServer, waitFor, type AppProcess, type NatsServer } from '@taskmesh/testing';

/**
 * A running mesh for an e2e suite: a real nats-server that requires per-role users, one router, N workers as
 * processes (each app connects as its own role), and a caller. `stop()` fails the suite if any process hit a
 * permission violation, so every scenario also proves the roles' permissions suffice for it.
 */
export interface Mesh {
  server: NatsServer;
  /** Connected as `caller`: what a program calling the mesh may do (mesh.call/submit/invocations/dispatches...). */
  nc: NatsConnection;
  /** Connected as `admin`: for inspecting or forging internals (streams, KV, events, NOTIFY). */
  admin: NatsConnection;
  router: AppProcess;
  /** Starts one more router replica (e.g. one that replaces a killed router) and waits until it is ready. */
  addRouter(name: string): Promise<AppProcess>;
  workers: AppProcess[];
  orchestrators: AppProcess[];
  /** Starts one more orchestrator and waits until it is ready. */
  addOrchestrator(): Promise<AppProcess>;
  schedulers: AppProcess[];
  /** Starts one more scheduler (with `env` on top of the mesh's) and waits until it is ready. */
  addScheduler(env?: Record<string, string>): Promise<AppProcess>;
  group: ProcessGroup;
  /** Starts one more worker with this id and waits until it is ready. */
  addWorker(id: string, env?: Record<string, string>): Promise<AppProcess>;
  /** `mesh.call.<task>` with a body; resolves the raw reply. */
  request(task: string, body: unknown, timeoutMs?: number): Promise<Msg>;
  /** `mesh.call.<task>` with `{args}`; resolves the parsed RESPONSE. */
  call(task: string, args: unknown, opts?: { timeoutMs?: number }): Promise<Response>;
  /** The ids `mesh.workers.list` shows now. */
  liveWorkers(): Promise<string[]>;
  /** Stops everything; rejects listing the permission violations any process hit (server log, apps' output). */
  stop(): Promise<void>;
}

/** The RESPONSE shape the tests read. */
export interface Response {
  v: number;
  type: 'RESPONSE';
  id?: string;
  state: string;
  attempt?: number;
  worker?: string;
  data?: { result?: unknown; failure?: { code: string; message: string; retryable: boolean; details?: Record<string, unknown> } };
}

/** Starts the mesh; `env` goes to every app (e.g. short notify periods). Workers are named w1..wN. */
export async function startMesh(opts: {
  workers: number; orchestrators?: number; schedulers?: number; env?: Record<string, string>; workerEnv?: Record<string, string>; schedulerEnv?: Record<string, string>;
  /** The mesh prefixes the roles may use (default `mesh` alone), e.g. for a stand-in service on another prefix. */
  prefixes?: string[];
}): Promise<Mesh> {
  // The server stays out of the group: stop() stops the apps, reads the server log, then stops the server.
  const group = new ProcessGroup();
  const server = await startNatsServer({ auth: { prefixes: opts.prefixes } });
  const base = { MESH_HTTP_PORT: '0', LOG_LEVEL: 'info', ...opts.env };
  const nc = await connect({ servers: server.url, ...server.login(Role.Caller), name: 'test-caller', noAsyncTraces: true });
  const admin = await connect({ servers: server.url, ...server.login(Role.Admin), name: 'test-admin', noAsyncTraces: true });
  const started = (p: AppProcess, app: string): Promise<string> => p.waitForLine(new RegExp(`"${app} started"`), 20_000);

  const routers: AppProcess[] = [];
  const addRouter = async (name: string): Promise<AppProcess> => {
    const r = group.add(spawnApp('router', { ...server.appEnv(Role.Router), ...base }, { name }));
    routers.push(r);
    await started(r, 'router');
    return r;
  };
  const router = await addRouter('router');
  const workers: AppProcess[] = [];
  const addWorker = async (id: string, env: Record<string, string> = {}): Promise<AppProcess> => {
    const w = group.add(spawnApp('worker', { ...server.appEnv(Role.Worker), ...base, MESH_WORKER_ID: id, ...opts.workerEnv, ...env }, { name: id }));
    workers.push(w);
    await started(w, 'worker');
    return w;
  };
  await Promise.all(Array.from({ length: opts.workers }, (_, i) => addWorker(`w${i + 1}`)));
  const orchestrators: AppProcess[] = [];
  const addOrchestrator = async (): Promise<AppProcess> => {
    const o = group.add(spawnApp('orchestrator', { ...server.appEnv(Role.Orchestrator), ...base }, { name: `orchestrator-${orchestrators.length + 1}` }));
    orchestrators.push(o);
    await started(o, 'orchestrator');
    return o;
  };
  for (let i = 0; i < (opts.orchestrators ?? 0); i++) await addOrchestrator();
  const schedulers: AppProcess[] = [];
  let schedulerCount = 0;
  const addScheduler = async (env: Record<string, string> = {}): Promise<AppProcess> => {
    const name = `scheduler-${++schedulerCount}`;
    const s = group.add(spawnApp('scheduler', { ...server.appEnv(Role.Scheduler), ...base, MESH_SCHEDULER_ID: name, ...opts.schedulerEnv, ...env }, { name }));
    schedulers.push(s);
    await started(s, 'scheduler');
    return s;
  };
  for (let i = 0; i < (opts.schedulers ?? 0); i++) await addScheduler();

  const request = (task: string, body: unknown, timeoutMs = 10_000): Promise<Msg> =>
    nc.request(`mesh.call.${task}`, typeof body === 'string' ? body : JSON.stringify(body), { timeout: timeoutMs });
  const mesh: Mesh = {
    server, nc, admin, router, addRouter, workers, orchestrators, schedulers, group, addWorker, addOrchestrator, addScheduler, request,
    call: async (task, args, o = {}) => (await request(task, { args, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) }, (o.timeoutMs ?? 10_000) + 5_000)).json<Response>(),
    liveWorkers: async () => (await nc.request('mesh.workers.list', '{}', { timeout: 2000 })).json<{ workers: { id: string }[] }>().workers.map((w) => w.id).sort(),
    stop: async () => {
      await Promise.all([nc, admin].map((c) => c.close().catch(() => undefined)));
      const violations = (): string[] => permissionViolations({ logFiles: [server.logFile], apps: [...routers, ...workers, ...orchestrators, ...schedulers] });
      let found: string[];
      try {
        await group.stopAll();
      } finally {
        found = violations();
        await server.stop();
      }
      if (found.length > 0) throw new Error(`permission violations during the suite (a role lacks a permission, or a test forged as a role):\n${found.join('\n')}`);
    },
  };
  // Ready = the router knows every worker (they answered its notify.request on start or beat since).
  await waitFor(async () => (await mesh.liveWorkers()).length === opts.workers, { timeoutMs: 15_000, what: `${opts.workers} live workers` });
  return mesh;
}
