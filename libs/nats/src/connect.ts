import { setTimeout as sleep } from 'node:timers/promises';
import { AuthorizationError, connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { natsAuthOptions } from '@taskmesh/client';
import { NatsAuthError, NatsUnreachableError } from './errors.js';
import { installRequestCancelFix } from './request-cancel.js';
import { installWriteBatching } from './write-batching.js';

/** Severity of a connection log event. */
export type NatsLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where connection events go: a message and structured fields (`level` always set). Adapt it to pino/Nest. */
export type NatsLog = (msg: string, fields: { level: NatsLogLevel } & Record<string, unknown>) => void;

/**
 * How to reach NATS (NATS_URL; one of NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_CREDS, NATS_NKEY_SEED; NATS_TLS_CA;
 * docs/PROTOCOL.md section 9).
 */
export interface NatsConnectOptions {
  /** Comma-separated server URLs, e.g. `nats://127.0.0.1:4222`. */
  servers: string;
  user?: string;
  password?: string;
  token?: string;
  /** Path of a NATS credentials file (JWT + nkey seed). */
  credsFile?: string;
  /** Path of a file holding an nkey seed (`SU...`). */
  nkeySeedFile?: string;
  /** Path of the CA certificate (PEM) that signed the server's: connect with TLS. */
  tlsCaFile?: string;
  /** Prefix of this connection's reply inboxes (`inboxPrefix(role)` of @taskmesh/protocol); default `_INBOX`. */
  inboxPrefix?: string;
  /** Connection name shown by the server (`nats server report connections`), e.g. `router`. */
  name: string;
  /** First-connection attempts before giving up (default 10). */
  connectAttempts?: number;
  /** Pause between two first-connection attempts (default 500 ms). */
  connectDelayMs?: number;
  /** Deadline of one connection attempt (default 2000 ms): a black-holed host must not eat the whole budget. */
  attemptTimeoutMs?: number;
  /**
   * Write everything sent in one turn of the event loop at once, after the turn (write-batching.ts), for the whole
   * process. Code that may block the event loop must start in a later turn, or it holds back what was sent just
   * before it (the worker starts each task handler with `setImmediate` for that reason).
   */
  batchWrites?: boolean;
}

/** First-connection attempts: with the default delay, about 5 s for a server that is still starting. */
export const DEFAULT_CONNECT_ATTEMPTS = 10;
/** Pause between first-connection attempts. */
export const DEFAULT_CONNECT_DELAY_MS = 500;
/** One attempt's deadline (nats.js defaults to 20 s, far longer than a local server ever needs). */
export const DEFAULT_CONNECT_ATTEMPT_TIMEOUT_MS = 2_000;
/**
 * Client PING period. nats.js defaults to 2 minutes, so a half-open TCP connection (server host gone, no RST)
 * would go unnoticed for up to 4 minutes; 10 s x 3 missed pongs notices it in about 30 s.
 */
export const PING_INTERVAL_MS = 10_000;
/**
 * Pause before retrying a server that just dropped us (nats.js default 2 s, plus jitter). A restarted local
 * server is back within a fraction of a second, so 1 s halves the stall after a nats-server restart
 * while still spreading a crowd of clients out.
 */
export const RECONNECT_TIME_WAIT_MS = 1_000;
const MAX_PINGS_OUT = 3;

/**
 * Connects with a bounded retry at boot (a server that is still starting is waited for), then throws
 * NatsUnreachableError naming the URL and the number of attempts; refused credentials fail at once
 * (NatsAuthError). Once connected, the client reconnects forever: a NATS restart never kills the process.
 */
export async function connectNats(opts: NatsConnectOptions, log?: NatsLog): Promise<NatsConnection> {
  if (!installRequestCancelFix()) log?.('nats.js is not the pinned 3.4.0: its per-request cancel cost is left as it is', { level: 'debug' });
  if (opts.batchWrites && !installWriteBatching()) log?.('nats.js is not the pinned 3.4.0: it writes to its socket once per microtask', { level: 'debug' });
  const attempts = Math.max(1, Math.floor(opts.connectAttempts ?? DEFAULT_CONNECT_ATTEMPTS));
  const delayMs = Math.max(0, opts.connectDelayMs ?? DEFAULT_CONNECT_DELAY_MS);
  const servers = opts.servers.split(',').map((s) => s.trim()).filter(Boolean);
  const options: NodeConnectionOptions = {
    servers,
    name: opts.name,
    timeout: opts.attemptTimeoutMs ?? DEFAULT_CONNECT_ATTEMPT_TIMEOUT_MS,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_TIME_WAIT_MS,
    // An async stack trace per request costs 1.5-2.5x request-reply throughput.
    noAsyncTraces: true,
    pingInterval: PING_INTERVAL_MS,
    maxPingOut: MAX_PINGS_OUT,
  };
  // Read once: a missing creds or seed file is a configuration error, not something to retry.
  Object.assign(options, natsAuthOf(opts, opts.servers));

  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const nc = await connect(options);
      log?.('connected to NATS', { level: 'info', server: nc.getServer(), serverVersion: nc.info?.version, attempt });
      return nc;
    } catch (err) {
      if (err instanceof AuthorizationError) throw new NatsAuthError(opts.servers, opts.user, { cause: err });
      lastError = err;
      log?.('NATS not reachable yet', { level: attempt < attempts ? 'warn' : 'error', servers: opts.servers, attempt, attempts, err: errorText(err) });
      if (attempt < attempts) await sleep(delayMs);
    }
  }
  throw new NatsUnreachableError(opts.servers, attempts, { cause: lastError });
}

/** Who a connection authenticates as and how it trusts the server: the strings of NatsConnectOptions that say so. */
export type NatsAuth = Pick<NatsConnectOptions, 'user' | 'password' | 'token' | 'credsFile' | 'nkeySeedFile' | 'tlsCaFile' | 'inboxPrefix'>;

/**
 * The nats.js options for `opts`' authentication, TLS and inbox (through @taskmesh/client's natsAuthOptions, the one
 * mapping the SDK uses too). Reads the creds or seed file; throws MeshConnectError naming a wrong combination.
 */
export function natsAuthOf(opts: NatsAuth, servers: string): Partial<NodeConnectionOptions> {
  return natsAuthOptions({
    ...(opts.user === undefined ? {} : { user: opts.user, password: opts.password }),
    ...(opts.token === undefined ? {} : { token: opts.token }),
    ...(opts.credsFile === undefined ? {} : { credsFile: opts.credsFile }),
    ...(opts.nkeySeedFile === undefined ? {} : { nkeySeedFile: opts.nkeySeedFile }),
    ...(opts.tlsCaFile === undefined ? {} : { tls: { caFile: opts.tlsCaFile } }),
    ...(opts.inboxPrefix === undefined ? {} : { inboxPrefix: opts.inboxPrefix }),
  }, servers);
}

/**
 * Logs the connection's status events (disconnect, reconnect, server errors such as permission violations,
 * slow consumers) until the connection closes; resolves then. A publish to a forbidden subject only shows up
 * here, so every process should run this.
 */
export async function watchNatsStatus(nc: NatsConnection, log: NatsLog): Promise<void> {
  for await (const s of nc.status()) {
    switch (s.type) {
      case 'disconnect':
        log('disconnected from NATS', { level: 'warn', server: s.server });
        break;
      case 'reconnect':
        log('reconnected to NATS', { level: 'info', server: s.server });
        break;
      case 'reconnecting':
        log('reconnecting to NATS', { level: 'debug' });
        break;
      case 'error':
        // Permission violations, authorization expiry and other -ERR from the server.
        log('NATS server error', { level: 'error', err: errorText(s.error), kind: s.error.name });
        break;
      case 'slowConsumer':
        log('slow NATS consumer: messages are being dropped', { level: 'warn', subject: s.sub.getSubject(), pending: s.pending });
        break;
      case 'staleConnection':
        log('NATS connection is stale (no PONG): reconnecting', { level: 'warn' });
        break;
      case 'ldm':
        log('NATS server entered lame duck mode: will reconnect elsewhere', { level: 'warn', server: s.server });
        break;
      case 'close':
        log('NATS connection closed', { level: 'info' });
        break;
      case 'update':
      case 'ping':
      case 'forceReconnect':
        log(`NATS status ${s.type}`, { level: 'debug' });
        break;
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
