import type { MeshConnectOptions } from '@taskmesh/client';
import { UsageError } from './exit-codes.js';

/** The options every command takes (`taskmesh --help`), as commander parsed them. */
export interface GlobalOptions {
  server: string;
  creds?: string;
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
 * The connection options of the global flags. Pure. One way to authenticate at a time: a creds file, a
 * user (and password), or a token; throws UsageError for a mix. One try at connecting: a CLI fails fast (exit 69).
 */
export function connectOptionsOf(g: GlobalOptions): MeshConnectOptions {
  const ways = [g.creds !== undefined && '--creds', g.user !== undefined && '--user', g.token !== undefined && '--token'].filter(Boolean);
  if (ways.length > 1) throw new UsageError(`${ways.join(' and ')} are alternatives: give one`);
  if (g.password !== undefined && g.user === undefined) throw new UsageError('--password needs --user');
  return {
    servers: g.server,
    prefix: g.prefix,
    name: 'taskmesh-cli',
    connectAttempts: 1,
    ...(g.timeout === undefined ? {} : { timeoutMs: g.timeout }),
    ...(g.creds === undefined ? {} : { credsFile: g.creds }),
    ...(g.user === undefined ? {} : { user: g.user }),
    ...(g.password === undefined ? {} : { password: g.password }),
    ...(g.token === undefined ? {} : { token: g.token }),
    ...(g.tlsCa === undefined ? {} : { tls: { caFile: g.tlsCa } }),
  };
}

/**
 * True when a connection error says the server refused us (authentication or authorization), rather than that it
 * could not be reached: judged by the error names along the cause chain (nats.js AuthorizationError, the mesh's
 * NatsAuthError), so it does not depend on one wrapper.
 */
export function isRefusal(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (/auth/i.test(e.name) || /authori[sz]ation violation/i.test(e.message)) return true;
  }
  return false;
}
