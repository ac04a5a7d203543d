// `npm run cluster`: the whole mesh as local processes, the same processes and environment as docker-compose.yml.
// Starts nats-server (JetStream, store under .tmp/cluster), then router, orchestrator, scheduler, N workers and the
// dashboard (web UI on --dashboard-port, loopback; its URL is printed once it listens) from dist/ (run `npm run build` first; `npm run cluster` does), prefixes every log line with its process name,
// and stops everything on Ctrl-C (SIGTERM to all, SIGKILL after a deadline). What it starts, and each app's
// environment, is planned by scripts/cluster-plan.mjs.
//
// --nats-nodes 3 (or 5) starts that many nats-servers clustered on loopback (a JetStream cluster: docs/ARCHITECTURE.md,
// "JetStream cluster"), gives the apps every node's URL and MESH_REPLICAS=<nodes>, so every stream and bucket keeps a
// copy on each node.
//
// NATS runs with one user per role (least-privilege permissions, `taskmesh auth init`): the credentials are written
// to <dir>/auth/<role>.env, kept across runs (new ones with --fresh); --no-auth starts it open, as before.
//
//   npm run cluster -- --workers 3 --port 4222 [--nats-nodes 3] [--cluster-port 6222] [--monitor-port 8222] [--http-port 8081] [--dashboard-port 8090] [--dir .tmp/cluster] [--fresh] [--no-auth] [--raw-logs]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateMeshAuth, writeMeshAuth } from '@taskmesh/cli';
import { appEnvironments, NATS_NODE_COUNTS, natsNodes } from './cluster-plan.mjs';

const { values: opts } = parseArgs({
  allowNegative: true,
  options: {
    workers: { type: 'string', default: '2' },
    port: { type: 'string', default: '4222' },
    'nats-nodes': { type: 'string', default: '1' },
    'cluster-port': { type: 'string' },
    'monitor-port': { type: 'string' },
    'http-port': { type: 'string', default: '8081' },
    'dashboard-port': { type: 'string', default: '8090' },
    dir: { type: 'string', default: '.tmp/cluster' },
    fresh: { type: 'boolean', default: false },
    auth: { type: 'boolean', default: true },
    'raw-logs': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  console.log('usage: npm run cluster -- [--workers N] [--port 4222] [--nats-nodes 1|3|5] [--cluster-port PORT+2000] [--monitor-port PORT+4000] [--http-port 8081] [--dashboard-port 8090] [--dir .tmp/cluster] [--fresh] [--no-auth] [--raw-logs]\n'
    + '  --nats-nodes: nats-servers clustered on loopback (JetStream cluster), node i on --port + i - 1; the apps get every\n'
    + '      node\'s URL and MESH_REPLICAS=<nodes>. 1, 3 or 5: a cluster writes while a majority is up (3 survive 1 lost, 5 survive 2)\n'
    + '  --cluster-port: the nodes\' route ports, node i on --cluster-port + i - 1 (with --nats-nodes 3 or 5)\n'
    + '  --monitor-port: nats-server\'s monitoring (http://127.0.0.1:8222/jsz), node i on + i - 1; 0: any free port\n'
    + '  --http-port: router\'s health/metrics port; orchestrator +1, scheduler +2, dashboard +3, worker i +9+i (0: any free port each)\n'
    + '  --dashboard-port: the web dashboard (http://127.0.0.1:8090); 0: any free port\n'
    + '  --dir: nats-server\'s config and JetStream store (kept between runs unless --fresh)\n'
    + '  --no-auth: no NATS users (by default each app connects as its role\'s user; credentials in <dir>/auth/<role>.env)');
  process.exit(0);
}
const workers = Number(opts.workers);
const port = Number(opts.port);
const httpPort = Number(opts['http-port']);
const dashboardPort = Number(opts['dashboard-port']);
const monitorPort = opts['monitor-port'] === undefined ? port + 4000 : Number(opts['monitor-port']);
const nodes = Number(opts['nats-nodes']);
const clusterPort = opts['cluster-port'] === undefined ? port + 2000 : Number(opts['cluster-port']);
if (!Number.isInteger(workers) || workers < 1 || workers > 64) fail('--workers must be an integer from 1 to 64');
if (!NATS_NODE_COUNTS.includes(nodes)) fail(`--nats-nodes must be ${NATS_NODE_COUNTS.slice(0, -1).join(', ')} or ${NATS_NODE_COUNTS.at(-1)} (an odd count: a cluster writes while a majority of its nodes is up)`);
if (!Number.isInteger(port) || port < 1 || port > 65536 - nodes) fail('--port must be a TCP port');
if (!Number.isInteger(clusterPort) || clusterPort < 1 || clusterPort > 65536 - nodes) fail('--cluster-port must be a TCP port (default --port + 2000)');
if (!Number.isInteger(monitorPort) || monitorPort < 0 || monitorPort > 65536 - nodes) fail('--monitor-port must be a TCP port (0: any free port; default --port + 4000)');
if (!Number.isInteger(dashboardPort) || dashboardPort < 0 || dashboardPort > 65535) fail('--dashboard-port must be a TCP port (0: any free port)');
if (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65535 - 9 - workers) fail('--http-port must be a TCP port (0: any free port)');

if (spawnSync('nats-server', ['--version']).error) {
  fail('nats-server is not on PATH. Install it: `sudo apt-get install -y nats-server` (Debian/Ubuntu), '
    + '`brew install nats-server` (macOS), or see https://docs.nats.io/running-a-nats-service/introduction/installation');
}

const dir = resolve(opts.dir);
if (opts.fresh) rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
// One user per role: generated once, kept across runs (a caller's exported credentials stay valid), new with --fresh.
const authDir = `${dir}/auth`;
// A store from before the dashboard role has no dashboard.env: generate the users again.
if (opts.auth && !(existsSync(`${authDir}/auth.conf`) && existsSync(`${authDir}/dashboard.env`))) writeMeshAuth(authDir, generateMeshAuth(process.env.MESH_PREFIX || 'mesh'));
const roleEnv = (role) => (opts.auth ? Object.fromEntries(readFileSync(`${authDir}/${role}.env`, 'utf8').trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2))) : {});
const servers = natsNodes({ nodes, port, monitorPort, clusterPort, dir, auth: opts.auth });
for (const node of servers) writeFileSync(node.configFile, node.config);
const natsUrls = servers.map((n) => `nats://127.0.0.1:${n.port}`);
// Variables the runner does not set (MESH_ACK_WAIT_MS, ...) reach the apps from its own environment.
const apps = appEnvironments({ workers, natsUrls, replicas: nodes, httpPort, dashboardPort, roleEnv, env: process.env });
const colors = [36, 33, 35, 32, 34, 31, 96, 93, 95, 92];
const children = [];
let stopping = false;

function fail(message) {
  console.error(`cluster: ${message}`);
  process.exit(1);
}

function start(name, command, args, extraEnv = {}) {
  const child = spawn(command, args, { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const color = colors[children.length % colors.length];
  const tag = `\x1b[${color}m${name.padEnd(12)}\x1b[0m|`;
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) {
        if (!line) continue;
        child.emit('line', line);
        console.log(`${tag} ${opts['raw-logs'] ? line : pretty(line)}`);
      }
    });
  }
  child.on('exit', (code, signal) => {
    console.log(`${tag} exited (${signal ?? code})`);
    if (!stopping) stop(`${name} exited`, 1);
  });
  children.push(child);
  return child;
}

// pino JSON -> "12:00:01.123 INFO  message key=value"; anything else is shown as is.
function pretty(line) {
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null) return line;
  const levels = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
  const { time, level, msg, app: _app, pid: _pid, hostname: _host, ...rest } = entry;
  const when = typeof time === 'string' ? time.slice(11, 23) : '';
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  return `${when} ${levels[level] ?? level} ${msg ?? ''} ${fields}`.trimEnd();
}

function stop(reason, code = 0) {
  if (stopping) return;
  stopping = true;
  console.log(`cluster: stopping (${reason})`);
  // Apps first (they drain), the nats-servers last.
  const nats = children.slice(0, servers.length);
  const running = children.slice(servers.length);
  const exited = (list) => Promise.all(list.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r)))));
  for (const child of running) child.kill('SIGTERM');
  const killer = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), 15_000);
  exited(running)
    .then(() => {
      for (const child of nats) child.kill('SIGTERM');
      return exited(nats);
    })
    .then(() => {
      clearTimeout(killer);
      process.exit(code);
    });
}
process.on('SIGINT', () => (stopping ? children.forEach((c) => c.kill('SIGKILL')) : stop('Ctrl-C')));
process.on('SIGTERM', () => stop('SIGTERM'));

for (const node of servers) start(node.name, 'nats-server', ['-c', node.configFile]);
if (await waitForNats() && await startApps()) announce();

/**
 * Starts the apps. In a cluster the router goes first and declares the streams and buckets alone: every app
 * declaring them at once made a JetStream API request time out at boot on a loaded machine (each is replicated).
 */
async function startApps() {
  const spawnApp = (a) => {
    const child = start(a.name, process.execPath, [`dist/apps/${a.app}/main.js`], a.env);
    // The dashboard's URL once it listens (its port may have been chosen free).
    if (a.app === 'dashboard') child.on('line', (line) => line.includes('"dashboard started"') && console.log(`cluster: dashboard on ${JSON.parse(line).url}`));
    return child;
  };
  const [first, ...rest] = apps;
  const router = spawnApp(first);
  if (nodes > 1 && !(await logged(router, new RegExp(`"msg":"${first.app} started"`), 60_000))) {
    stop(`${first.name} did not start within 60 s`, 1);
    return false;
  }
  rest.forEach(spawnApp);
  return true;
}

/** Resolves true once `child` logs a line matching `pattern`; false if it exits first or `ms` pass. */
function logged(child, pattern, ms) {
  return new Promise((resolve) => {
    const done = (result) => {
      clearTimeout(timer);
      child.off('line', onLine);
      child.off('exit', onExit);
      resolve(result);
    };
    const onLine = (line) => pattern.test(line) && done(true);
    const onExit = () => done(false);
    const timer = setTimeout(() => done(false), ms);
    child.on('line', onLine);
    child.on('exit', onExit);
  });
}

/** Where things are, and what to try. */
function announce() {
  const health = httpPort === 0 ? 'health on free ports (logged by each app)' : `health on :${httpPort}-${httpPort + 3} and :${httpPort + 10}-${httpPort + 9 + workers}`;
  const replicated = nodes > 1 ? ` (${nodes} nodes clustered, MESH_REPLICAS=${nodes})` : '';
  console.log(`cluster: ${natsUrls.join(',')}${replicated}, ${workers} worker(s); ${health}; Ctrl-C stops`);
  const url = port === 4222 && nodes === 1 ? '' : ` --server ${natsUrls.join(',')}`;
  if (opts.auth) {
    console.log(`cluster: NATS requires a user per role; credentials in ${relative(process.cwd(), authDir) || authDir}/<role>.env. As a caller, in your shell:  export $(cat ${relative(process.cwd(), authDir)}/caller.env)`);
  }
  console.log(`cluster: try  npx taskmesh call sleep '{"ms":2000,"steps":4}'${url}   or   npx taskmesh dispatches create echo '{"tick":true}' --every 'FREQ=SECONDLY;INTERVAL=5;COUNT=3' --follow${url}`);
}

/** Resolves true once every node listens and, in a cluster, JetStream answers; else stops everything. */
async function waitForNats() {
  for (const node of servers) {
    if (!(await waitForPort(node.port))) return (stop(`${node.name} did not listen on ${node.port} within 10 s`, 1), false);
  }
  if (nodes > 1 && !(await waitForMetaLeader())) return (stop('the nats-servers did not elect a JetStream meta leader within 30 s', 1), false);
  return true;
}

// A clustered JetStream answers its API only once the nodes have elected a meta leader; the apps declare their
// streams at boot, so they start after that.
async function waitForMetaLeader() {
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: natsUrls, ...(opts.auth ? { user: roleEnv('admin').NATS_USER, pass: roleEnv('admin').NATS_PASSWORD } : {}) });
  try {
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      const reply = await nc.request('$JS.API.INFO', '', { timeout: 1000 }).then((m) => m.json(), () => undefined);
      if (reply !== undefined && reply.error === undefined) return true;
      if (stopping) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  } finally {
    await nc.close();
  }
}

async function waitForPort(p) {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => {
      const s = connect(p, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return true;
    if (stopping) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
