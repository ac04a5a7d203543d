import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { checkIdentity, discoveryResponse, discoverySubjects, DiscoveryVerb, type EndpointStatsBook, type ServiceIdentity } from './service-discovery.js';

/** A running set of discovery responders; `stop` unsubscribes them. */
export interface DiscoveryResponders {
  readonly identity: ServiceIdentity;
  stop(): void;
}

/**
 * Answers NATS micro discovery for one service instance: `$SRV.PING|INFO|STATS`, the same with `.<name>`, and with
 * `.<name>.<id>` (ADR-32). Plain subscriptions (not queue groups): every instance answers a discovery request, as
 * `nats micro ls` expects. The body of a request is ignored.
 */
export function serveDiscovery(nc: NatsConnection, identity: ServiceIdentity, book: EndpointStatsBook): DiscoveryResponders {
  checkIdentity(identity);
  const started = new Date();
  const encoder = new TextEncoder();
  const subs: Subscription[] = [];
  for (const verb of Object.values(DiscoveryVerb)) {
    for (const subject of discoverySubjects(verb, identity)) {
      subs.push(nc.subscribe(subject, {
        callback: (_err, msg) => {
          if (!msg.reply) return;
          try {
            msg.respond(encoder.encode(JSON.stringify(discoveryResponse(verb, identity, book, started))));
          } catch {
            // The connection is closing: discovery has nothing to add.
          }
        },
      }));
    }
  }
  return { identity, stop: () => subs.splice(0).forEach((s) => s.unsubscribe()) };
}
