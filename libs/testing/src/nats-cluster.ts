import { freePort, startNatsServer, type NatsServer, type NatsServerOptions } from './nats-server.js';

/** A JetStream cluster of real nats-server processes on loopback, owned by one test suite. */
export interface NatsCluster {
  /** The nodes, in start order. */
  readonly servers: NatsServer[];
  /** Every node's client URL, comma-separated (what NATS_URL takes). */
  readonly urls: string;
  /** Stops every node (idempotent). */
  stop(): Promise<void>;
}

/**
 * Starts `nodes` nats-servers (default 3) with JetStream, routed to each other as one cluster (`cluster` block with
 * every node's route), each with its own port, store and log. Resolves once every node accepts clients; JetStream's
 * meta leader is elected shortly after (callers wait for `$JS.API.INFO` to answer). Each node can be killed and
 * restarted alone (`servers[i].kill()` / `restart()`), keeping its store: the cluster's failure model.
 */
export async function startNatsCluster(nodes = 3, opts: Pick<NatsServerOptions, 'config' | 'startTimeoutMs'> = {}): Promise<NatsCluster> {
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
        config: `cluster { name: "taskmesh-test", listen: "127.0.0.1:${routePorts[i]}", routes: [${routes}] }\n${opts.config ?? ''}`,
      });
    }));
  } catch (err) {
    await Promise.all(servers.filter(Boolean).map((s) => s.stop()));
    throw err;
  }
  return {
    servers,
    urls: servers.map((s) => s.url).join(','),
    stop: async () => void (await Promise.all(servers.map((s) => s.stop()))),
  };
}
