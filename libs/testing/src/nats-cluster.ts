import type { Role } from '@taskmesh/protocol';
import { freePort, startNatsServer, testUsersFor, type NatsServer, type NatsServerOptions } from './nats-server.js';
import type { NatsAppEnv, NatsLogin, TestUsers } from './test-users.js';

/** A JetStream cluster of real nats-server processes on loopback, owned by one test suite. */
export interface NatsCluster {
  /** The nodes, in start order. */
  readonly servers: NatsServer[];
  /** Every node's client URL, comma-separated (what NATS_URL takes). */
  readonly urls: string;
  /** Stops every node (idempotent). */
  stop(): Promise<void>;
  /** The users every node requires (as on `NatsServer`), or undefined when the cluster is anonymous or brings its own. */
  readonly users: TestUsers | undefined;
  /** `role`'s login for nats.js, valid on every node. Throws without `users`. */
  login(role: Role): NatsLogin;
  /** `NATS_URL` (every node), `NATS_USER` and `NATS_PASSWORD` for an app that connects as `role`. Throws without `users`. */
  appEnv(role: Role): NatsAppEnv;
}

/**
 * Starts `nodes` nats-servers (default 3) with JetStream, routed to each other as one cluster (`cluster` block with
 * every node's route), each with its own port, store and log. Resolves once every node accepts clients; JetStream's
 * meta leader is elected shortly after (callers wait for `$JS.API.INFO` to answer). Each node can be killed and
 * restarted alone (`servers[i].kill()` / `restart()`), keeping its store: the cluster's failure model. Every node
 * requires the same generated users, as `startNatsServer` does (`auth`).
 */
export async function startNatsCluster(nodes = 3, opts: Pick<NatsServerOptions, 'config' | 'startTimeoutMs' | 'auth'> = {}): Promise<NatsCluster> {
  const users = testUsersFor(opts);
  const clientPorts: number[] = [];
  const routePorts: number[] = [];
  while (clientPorts.length < nodes) {
    const port = await freePort();
    const route = await freePort();
    if ([...clientPorts, ...routePorts].includes(port) || [...clientPorts, ...routePorts, port].includes(route)) continue;
    clientPorts.push(port);
    routePorts.push(route);
  }
  const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(', ');
  const servers: NatsServer[] = [];
  try {
    await Promise.all(clientPorts.map(async (port, i) => {
      servers[i] = await startNatsServer({
        port,
        startTimeoutMs: opts.startTimeoutMs,
        config: `cluster { name: "taskmesh-test", listen: "127.0.0.1:${routePorts[i]}", routes: [${routes}] }\n${users?.config ?? ''}${opts.config ?? ''}`,
      });
    }));
  } catch (err) {
    await Promise.all(servers.filter(Boolean).map((s) => s.stop()));
    throw err;
  }
  const urls = servers.map((s) => s.url).join(',');
  const requireUsers = (): TestUsers => {
    if (users === undefined) throw new Error('this nats cluster has no generated users (auth: false, or its config brings its own)');
    return users;
  };
  return {
    servers,
    urls,
    stop: async () => void (await Promise.all(servers.map((s) => s.stop()))),
    users,
    login: (role) => requireUsers().login(role),
    appEnv: (role) => requireUsers().appEnv(role, urls),
  };
}
