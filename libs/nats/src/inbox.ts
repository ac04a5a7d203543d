import { createInbox, type NatsConnection } from '@nats-io/transport-node';

/**
 * A fresh reply inbox under the connection's own inbox prefix (its `inboxPrefix` option, `_INBOX` by default), as
 * nats.js's own requests use: with per-role users a role may subscribe only under its prefix.
 */
export function newInbox(nc: NatsConnection): string {
  return createInbox((nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix);
}
