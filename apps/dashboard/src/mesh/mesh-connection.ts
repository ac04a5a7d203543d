import { MAX_CONNECT_ATTEMPTS, MeshClient, MeshObserver, type MeshConnectOptions } from '@taskmesh/client';
import { inboxPrefix, Role } from '@taskmesh/protocol';
import type { DashboardConfig } from '../dashboard.config.js';

/** How the dashboard connects: as the `dashboard` role (docs/PROTOCOL.md section 10), through routers for any call. */
export function meshConnectOptions(config: DashboardConfig): MeshConnectOptions {
  return {
    servers: config.NATS_URL,
    ...(config.NATS_USER === undefined ? {} : { user: config.NATS_USER }),
    ...(config.NATS_PASSWORD === undefined ? {} : { password: config.NATS_PASSWORD }),
    ...(config.NATS_TOKEN === undefined ? {} : { token: config.NATS_TOKEN }),
    ...(config.NATS_CREDS === undefined ? {} : { credsFile: config.NATS_CREDS }),
    ...(config.NATS_NKEY_SEED === undefined ? {} : { nkeySeedFile: config.NATS_NKEY_SEED }),
    ...(config.NATS_TLS_CA === undefined ? {} : { tls: { caFile: config.NATS_TLS_CA } }),
    inboxPrefix: inboxPrefix(Role.Dashboard),
    prefix: config.MESH_PREFIX,
    name: 'taskmesh-dashboard',
    direct: 'router',
    connectAttempts: Math.min(config.NATS_CONNECT_ATTEMPTS, MAX_CONNECT_ATTEMPTS),
  };
}

/** The observer of the dashboard's client (its live feeds and micro statistics). */
export const observerProvider = {
  provide: MeshObserver,
  useFactory: (client: MeshClient) => new MeshObserver(client),
  inject: [MeshClient],
};
