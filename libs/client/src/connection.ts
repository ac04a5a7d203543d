import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AuthorizationError, connect, credsAuthenticator, nkeyAuthenticator, type NatsConnection, type NodeConnectionOptions,
} from '@nats-io/transport-node';
import { MAX_TIMEOUT_MS, Subjects } from '@taskmesh/protocol';
import { MeshConnectError } from './errors.js';
import type { MeshConnectOptions } from './mesh-client.js';

/** Where a client connects when no server is named: a local cluster (`npm run cluster`). */
export const DEFAULT_SERVER_URL = 'nats://127.0.0.1:4222';
/** The connection name nats-server shows (`nats server report connections`). */
export const DEFAULT_CONNECTION_NAME = 'taskmesh-client';
/** First-connection tries: fail fast, a script should say at once that the server is not there. */
export const DEFAULT_CONNECT_ATTEMPTS = 1;
/** Most first-connection tries accepted (with the delay below, about a minute). */
export const MAX_CONNECT_ATTEMPTS = 120;
/** Pause between first-connection tries. */
export const CONNECT_RETRY_DELAY_MS = 500;
/** One try's deadline (nats.js defaults to 20 s, far longer than a reachable server needs). */
export const CONNECT_ATTEMPT_TIMEOUT_MS = 5_000;
/** Client PING period: a half-open connection is noticed in about 30 s (nats.js default: 2 min x 2). */
const PING_INTERVAL_MS = 10_000;
const MAX_PINGS_OUT = 3;

/** Reads a file named by an option (creds, nkey seed); injected so the mapping is unit tested without files. */
export type ReadFile = (path: string) => Uint8Array;

/** The options' servers as a list (a comma-separated string is split); DEFAULT_SERVER_URL when none. */
export function serverList(servers: string | string[] | undefined): string[] {
  const list = (Array.isArray(servers) ? servers : (servers ?? '').split(',')).map((s) => s.trim()).filter(Boolean);
  return list.length > 0 ? list : [DEFAULT_SERVER_URL];
}

/** The connection options that say who this client is and how it trusts the server. */
export type MeshAuthOptions = Pick<MeshConnectOptions, 'user' | 'password' | 'token' | 'credsFile' | 'nkeySeedFile' | 'tls' | 'inboxPrefix'>;

/**
 * The nats.js options for `options` (pure but for reading the creds or seed file): servers, name, one
 * authentication method, TLS files, and reconnects forever once connected. Throws MeshConnectError (not retryable)
 * naming the option that is wrong: two authentication methods, a password without a user, an unreadable file.
 */
export function natsOptions(options: MeshConnectOptions, readFile: ReadFile = readFileSync): NodeConnectionOptions {
  const servers = serverList(options.servers);
  return {
    servers,
    name: options.name ?? DEFAULT_CONNECTION_NAME,
    timeout: CONNECT_ATTEMPT_TIMEOUT_MS,
    reconnect: true,
    maxReconnectAttempts: -1,
    // An async stack trace per request costs 1.5-2.5x request-reply throughput (libs/nats/src/connect.ts).
    noAsyncTraces: true,
    pingInterval: PING_INTERVAL_MS,
    maxPingOut: MAX_PINGS_OUT,
    ...natsAuthOptions(options, servers.join(','), readFile),
  };
}

/**
 * The authentication, TLS and inbox part of the nats.js options, shared by the SDK, the apps (libs/nats connect.ts)
 * and the worker's heartbeat thread: one of user/password, token, creds file (JWT + nkey seed) or nkey seed file,
 * and a TLS CA (plus client certificate and key for mutual TLS). Throws MeshConnectError naming what is wrong.
 */
export function natsAuthOptions(options: MeshAuthOptions, servers: string, readFile: ReadFile = readFileSync): Partial<NodeConnectionOptions> {
  const refuse = (why: string): MeshConnectError => new MeshConnectError(servers, why, { retryable: false });
  const methods = [
    options.user !== undefined || options.password !== undefined ? 'user/password' : undefined,
    options.token !== undefined ? 'token' : undefined,
    options.credsFile !== undefined ? 'credsFile' : undefined,
    options.nkeySeedFile !== undefined ? 'nkeySeedFile' : undefined,
  ].filter((m) => m !== undefined);
  if (methods.length > 1) throw refuse(`options name ${methods.join(' and ')}: choose one authentication method`);
  const result: Partial<NodeConnectionOptions> = {};
  if (options.inboxPrefix !== undefined) result.inboxPrefix = options.inboxPrefix;
  if (options.user !== undefined || options.password !== undefined) {
    if (options.user === undefined || options.user === '') throw refuse('options.password is set without options.user');
    result.user = options.user;
    if (options.password !== undefined) result.pass = options.password;
  }
  if (options.token !== undefined) result.token = options.token;
  const read = (option: 'credsFile' | 'nkeySeedFile', path: string): Uint8Array => {
    try {
      return readFile(path);
    } catch (err) {
      throw refuse(`options.${option} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  if (options.credsFile !== undefined) result.authenticator = credsAuthenticator(read('credsFile', options.credsFile));
  if (options.nkeySeedFile !== undefined) {
    const seed = new TextDecoder().decode(read('nkeySeedFile', options.nkeySeedFile)).trim();
    if (!seed.startsWith('S')) throw refuse(`options.nkeySeedFile ${options.nkeySeedFile} does not hold an nkey seed (S...)`);
    result.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  const tls = options.tls;
  if (tls !== undefined) {
    result.tls = {
      ...(tls.caFile === undefined ? {} : { caFile: tls.caFile }),
      ...(tls.certFile === undefined ? {} : { certFile: tls.certFile }),
      ...(tls.keyFile === undefined ? {} : { keyFile: tls.keyFile }),
    };
  }
  return result;
}

/** The client's settings after defaults, checked once (RangeError naming the option). */
export interface ClientSettings {
  subjects: Subjects;
  timeoutMs: number;
}

/** Checks the options that are not about the connection: prefix (Subjects) and the default call timeout. */
export function clientSettings(options: MeshConnectOptions): ClientSettings {
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new RangeError(`options.timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}, got ${timeoutMs}`);
  }
  return { subjects: new Subjects(options.prefix), timeoutMs };
}

/** `options.connectAttempts` checked: an integer from 1 to MAX_CONNECT_ATTEMPTS. */
export function connectAttempts(options: MeshConnectOptions): number {
  const attempts = options.connectAttempts ?? DEFAULT_CONNECT_ATTEMPTS;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > MAX_CONNECT_ATTEMPTS) {
    throw new RangeError(`options.connectAttempts must be an integer from 1 to ${MAX_CONNECT_ATTEMPTS}, got ${attempts}`);
  }
  return attempts;
}

/**
 * Connects with `connectAttempts` tries, CONNECT_RETRY_DELAY_MS apart; refused credentials fail at once. Throws
 * MeshConnectError `cannot connect to <url>: <why>`. Once connected, nats.js reconnects forever.
 */
export async function connectToMesh(options: MeshConnectOptions): Promise<NatsConnection> {
  const attempts = connectAttempts(options);
  const natsOpts = natsOptions(options);
  const servers = serverList(options.servers).join(',');
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await connect(natsOpts);
    } catch (err) {
      if (err instanceof AuthorizationError || isAuthFailure(err)) {
        throw new MeshConnectError(servers, `the server refused the credentials (${messageOf(err)})`, { retryable: false, cause: err });
      }
      lastError = err;
      if (attempt < attempts) await sleep(CONNECT_RETRY_DELAY_MS);
    }
  }
  throw new MeshConnectError(servers, messageOf(lastError), { attempts, cause: lastError });
}

function isAuthFailure(err: unknown): boolean {
  return err instanceof Error && /authorization|authentication/i.test(err.message);
}

function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const cause = err.cause instanceof Error && err.cause.message !== err.message ? ` (${err.cause.message})` : '';
  return `${err.message || err.name}${code !== undefined && !err.message.includes(code) ? ` [${code}]` : ''}${cause}`;
}
