import type { MeshConnectOptions } from '@taskmesh/client';
import { UsageError, type ConnectFailure } from './exit-codes.js';

/** The options every command takes (`taskmesh --help`), as commander parsed them. */
export interface GlobalOptions {
  server: string;
  creds?: string;
  nkeySeed?: string;
  user?: string;
  password?: string;
  token?: string;
  tlsCa?: string;
  prefix: string;
  timeout?: number;
  json: boolean;
}

/** Default server: a local cluster (`npm run cluster`). */
export const DEFAULT_SERVER = 'nats://127.0.0.1:4222';
/** Default subject prefix, the mesh's. */
export const DEFAULT_PREFIX = 'mesh';

/**
 * The connection options of the global flags. Pure. One way to authenticate at a time: a creds file, an nkey
 * seed, a user (and password), or a token; throws UsageError for a mix. One try at connecting: a CLI fails fast (exit 69).
 */
export function connectOptionsOf(g: GlobalOptions): MeshConnectOptions {
  const ways = [g.creds !== undefined && '--creds', g.nkeySeed !== undefined && '--nkey-seed', g.user !== undefined && '--user', g.token !== undefined && '--token']
    .filter(Boolean);
  if (ways.length > 1) throw new UsageError(`${ways.join(' and ')} are alternatives: give one`);
  if (g.password !== undefined && g.user === undefined) throw new UsageError('--password needs --user');
  return {
    servers: g.server,
    prefix: g.prefix,
    name: 'taskmesh-cli',
    connectAttempts: 1,
    ...(g.timeout === undefined ? {} : { timeoutMs: g.timeout }),
    ...(g.creds === undefined ? {} : { credsFile: g.creds }),
    ...(g.nkeySeed === undefined ? {} : { nkeySeedFile: g.nkeySeed }),
    ...(g.user === undefined ? {} : { user: g.user }),
    ...(g.password === undefined ? {} : { password: g.password }),
    ...(g.token === undefined ? {} : { token: g.token }),
    ...(g.tlsCa === undefined ? {} : { tls: { caFile: g.tlsCa } }),
  };
}

/**
 * Why a first connection failed. Refused: an authentication or authorization error along the cause chain (nats.js
 * AuthorizationError, the client's "refused the credentials"). Config: options that cannot work, which the client
 * reports as not retryable (an unreadable creds file) or as a RangeError (a value out of range). Else unreachable.
 */
export function connectFailure(err: unknown): ConnectFailure {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (/auth/i.test(e.name) || /authori[sz]ation violation|refused the credentials/i.test(e.message)) return 'refused';
  }
  if (err instanceof RangeError || err instanceof TypeError) return 'config';
  return (err as { retryable?: unknown } | undefined)?.retryable === false ? 'config' : 'unreachable';
}
