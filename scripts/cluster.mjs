// `npm run cluster`: the whole mesh as local processes, the same processes and environment as docker-compose.yml.
// Starts nats-server (JetStream, store under .tmp/cluster), then router, orchestrator, scheduler, N workers and the
// dashboard (web UI on --dashboard-port, loopback) from dist/ (run `npm run build` first; `npm run cluster` does), prefixes every log line with its process name,
// and stops everything on Ctrl-C (SIGTERM to all, SIGKILL after a deadline).
//
// NATS runs with one user per role (least-privilege permissions, `taskmesh auth init`): the credentials are written
// to <dir>/auth/<role>.env, kept across runs (new ones with --fresh); --no-auth starts it open, as before.
//
//   npm run cluster -- --workers 3 --port 4222 [--monitor-port 8222] [--http-port 8081] [--dashboard-port 8090] [--dir .tmp/cluster] [--fresh] [--no-auth] [--raw-logs]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateMeshAuth, writeMeshAuth } from '@taskmesh/cli';

const { values: opts } = parseArgs({
  allowNegative: true,
  options: {
    workers: { type: 'string', default: '2' },
    port: { type: 'string', default: '4222' },
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
  console.log('usage: npm run cluster -- [--workers N] [--port 4222] [--monitor-port PORT+4000] [--http-port 8081] [--dir .tmp/cluster] [--fresh] [--no-auth] [--raw-logs]\n'
    + '  --monitor-port: nats-server\'s monitoring (http://127.0.0.1:8222/jsz); 0: any free port\n'
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
if (!Number.isInteger(workers) || workers < 1 || workers > 64) fail('--workers must be an integer from 1 to 64');
if (!Number.isInteger(port) || port < 1 || port > 65535) fail('--port must be a TCP port');
if (!Number.isInteger(monitorPort) || monitorPort < 0 || monitorPort > 65535) fail('--monitor-port must be a TCP port (0: any free port; default --port + 4000)');
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
writeFileSync(`${dir}/nats.conf`, `port: ${port}\nhttp_port: ${monitorPort === 0 ? -1 : monitorPort}\njetstream { store_dir: "${dir}/jetstream" }\n`
  + (opts.auth ? 'include "auth/auth.conf"\n' : ''));

// Retention (docs/PROTOCOL.md section 9; sizing in docs/ARCHITECTURE.md, "Retention and sizing"): the defaults,
// spelled out so they are easy to change; an environment variable of the same name wins.
const retention = {
  MESH_EVENTS_MAX_AGE_MS: '86400000', MESH_EVENTS_MAX_BYTES: '1073741824',
};
const orchestratorRetention = {
  MESH_PURGE_AFTER_MS: '604800000', MESH_PURGE_GENERATED_AFTER_MS: '600000',
  MESH_INVOCATIONS_MAX_RECORDS: '1000000', MESH_INVOCATIONS_MAX_BYTES: '1073741824',
};
const env = { NATS_URL: `nats://127.0.0.1:${port}`, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', ...pick(retention) };

/** `defaults`, each overridden by the environment variable of its name when set. */
function pick(defaults) {
  return Object.fromEntries(Object.entries(defaults).map(([k, v]) => [k, process.env[k] || v]));
}
const colors = [36, 33, 35, 32, 34, 31, 96, 93, 95, 92];
const children = [];
let stopping = false;

function fail(message) {
  console.error(`cluster: ${message}`);
  process.exit(1);
}

function start(name, command, args, extraEnv = {}, onLine = () => {}) {
  const child = spawn(command, args, { env: { ...process.env, ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
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
        console.log(`${tag} ${opts['raw-logs'] ? line : pretty(line)}`);
        onLine(line);
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
  // Apps first (they drain), nats-server last.
  const [nats, ...apps] = children;
  for (const child of apps) child.kill('SIGTERM');
  const killer = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), 15_000);
  Promise.all(apps.map((c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r)))))
    .then(() => {
      nats.kill('SIGTERM');
      return nats.exitCode !== null ? null : new Promise((r) => nats.once('exit', r));
    })
    .then(() => {
      clearTimeout(killer);
      process.exit(code);
    });
}
process.on('SIGINT', () => (stopping ? children.forEach((c) => c.kill('SIGKILL')) : stop('Ctrl-C')));
process.on('SIGTERM', () => stop('SIGTERM'));

start('nats', 'nats-server', ['-c', `${dir}/nats.conf`]);
await waitForPort(port);
const app = (name) => ['dist/apps/' + name + '/main.js'];
const http = (offset) => String(httpPort === 0 ? 0 : httpPort + offset);
start('router', process.execPath, app('router'), { MESH_HTTP_PORT: http(0), ...roleEnv('router') });
start('orchestrator', process.execPath, app('orchestrator'), { MESH_HTTP_PORT: http(1), ...pick(orchestratorRetention), ...roleEnv('orchestrator') });
start('scheduler', process.execPath, app('scheduler'), { MESH_HTTP_PORT: http(2), ...roleEnv('scheduler') });
for (let i = 1; i <= workers; i++) {
  start(`worker-${i}`, process.execPath, app('worker'), { MESH_HTTP_PORT: http(9 + i), MESH_WORKER_ID: `worker-${i}`, MESH_DEMO_TASKS: 'true', ...roleEnv('worker') });
}
// Its URL is printed once it listens (the port may have been chosen free).
start('dashboard', process.execPath, app('dashboard'), { MESH_HTTP_PORT: http(3), MESH_DASHBOARD_PORT: String(dashboardPort), ...roleEnv('dashboard') }, (line) => {
  if (line.includes('"dashboard started"')) console.log(`cluster: dashboard on ${JSON.parse(line).url}`);
});
const health = httpPort === 0 ? 'health on free ports (logged by each app)' : `health on :${httpPort}-${httpPort + 3} and :${httpPort + 10}-${httpPort + 9 + workers}`;
console.log(`cluster: nats://127.0.0.1:${port}, ${workers} worker(s); ${health}; Ctrl-C stops`);
const url = port === 4222 ? '' : ` --server nats://127.0.0.1:${port}`;
if (opts.auth) {
  console.log(`cluster: NATS requires a user per role; credentials in ${relative(process.cwd(), authDir) || authDir}/<role>.env. As a caller, in your shell:  export $(cat ${relative(process.cwd(), authDir)}/caller.env)`);
}
console.log(`cluster: try  npx taskmesh call sleep '{"ms":2000,"steps":4}'${url}   or   npx taskmesh dispatches create echo '{"tick":true}' --every 'FREQ=SECONDLY;INTERVAL=5;COUNT=3' --follow${url}`);

async function waitForPort(p) {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => {
      const s = connect(p, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  stop(`nats-server did not listen on ${p} within 10 s`, 1);
}
