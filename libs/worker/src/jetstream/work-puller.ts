import type { Msg, MsgHdrs, NatsConnection, Subscription } from '@nats-io/transport-node';
import { parseAckSubject, type AckInfo } from './ack-subject.js';

/** A work message as the puller hands it on: payload, delivery facts, and how to settle it. */
export interface PulledMessage {
  pullId: number;
  data: Uint8Array;
  headers?: MsgHdrs;
  info: AckInfo;
  /** The ack reply subject: settle the message by publishing to it. */
  ackSubject: string;
}

/** Callbacks of the puller; it never throws into them. */
export interface PullEvents {
  message(m: PulledMessage): void;
  /** The pull is over (server said so, or it passed its expiry); its unused reservations are free again. */
  ended(pullId: number, reason: string): void;
}

/** How long past a pull's expiry we wait for the server's 408 before we consider the pull gone. */
const PULL_GRACE_MS = 2000;

/**
 * Raw JetStream pull requests on one inbox subscription (no subscription per pull). Each pull reserves slots:
 * the worker holds at most as many messages as it has free slots (no `consume()` prefetch stranding work until
 * ack_wait when the worker dies). A pull's statuses come on its own inbox token; its messages are matched by
 * consumer, oldest pull first.
 */
export class WorkPuller {
  private readonly inbox: string;
  private readonly sub: Subscription;
  /** Outstanding pulls in the order they were sent (Map keeps insertion order). */
  private readonly outstanding = new Map<number, { consumer: string; remaining: number; timer: NodeJS.Timeout }>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly stream: string,
    private readonly events: PullEvents,
    inboxPrefix: string,
  ) {
    this.inbox = inboxPrefix;
    this.sub = nc.subscribe(`${this.inbox}.*`, { callback: (_err, msg) => this.onMsg(msg) });
  }

  /** Asks `consumer` for up to `batch` messages, waiting at most `expiresMs` for them. */
  pull(pullId: number, consumer: string, batch: number, expiresMs: number): void {
    const timer = setTimeout(() => this.end(pullId, 'no answer from the server'), expiresMs + PULL_GRACE_MS);
    this.outstanding.set(pullId, { consumer, remaining: batch, timer });
    const request = JSON.stringify({ batch, expires: expiresMs * 1_000_000 });
    this.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${this.stream}.${consumer}`, request, { reply: `${this.inbox}.${pullId}` });
  }

  /** Settles a message: `+ACK`, `-NAK` (optionally delayed), `+WPI` (still working) or `+TERM`. */
  ack(m: Pick<PulledMessage, 'ackSubject'>): void {
    this.nc.publish(m.ackSubject, '+ACK');
  }

  nak(m: Pick<PulledMessage, 'ackSubject'>, delayMs = 0): void {
    this.nc.publish(m.ackSubject, delayMs > 0 ? `-NAK ${JSON.stringify({ delay: delayMs * 1_000_000 })}` : '-NAK');
  }

  inProgress(m: Pick<PulledMessage, 'ackSubject'>): void {
    this.nc.publish(m.ackSubject, '+WPI');
  }

  /** Plain `+TERM`: nats-server 2.9 ignores a term that carries a reason (the dead-letter copy keeps the reason). */
  term(m: Pick<PulledMessage, 'ackSubject'>): void {
    this.nc.publish(m.ackSubject, '+TERM');
  }

  /** Stops listening; outstanding pulls are reported ended. */
  close(): void {
    this.sub.unsubscribe();
    for (const pullId of [...this.outstanding.keys()]) this.end(pullId, 'closed');
  }

  private onMsg(msg: Msg): void {
    if (msg.subject.startsWith(`${this.inbox}.`)) {
      // Statuses come on the pull's own inbox token: 404 no messages / 408 request expired / 409 consumer gone,
      // leadership change, max waiting...: that pull is over. 100 is an idle heartbeat.
      const status = msg.headers?.code ?? 0;
      const pullId = Number(msg.subject.slice(this.inbox.length + 1));
      if (status !== 0 && status !== 100 && msg.data.length === 0) this.end(pullId, `${status} ${msg.headers?.description ?? ''}`.trim());
      if (status !== 0 || msg.data.length === 0) return;
    }
    // Deliveries keep their original subject, so they are matched to a pull by consumer: the server serves a
    // consumer's waiting pulls in arrival order, hence the oldest pull with slots left is the one being filled.
    const info = parseAckSubject(msg.reply);
    if (!info) return;
    let pullId: number | undefined;
    for (const [id, pull] of this.outstanding) {
      if (pull.consumer === info.consumer && pull.remaining > 0) {
        pullId = id;
        break;
      }
    }
    if (pullId === undefined) {
      // A delivery for a pull we already gave up on: no slot is reserved for it, so hand it back at once
      // instead of letting it sit until ack_wait.
      this.nak({ ackSubject: msg.reply! });
      return;
    }
    const pull = this.outstanding.get(pullId)!;
    pull.remaining -= 1;
    this.events.message({ pullId, data: msg.data, headers: msg.headers, info, ackSubject: msg.reply! });
    if (pull.remaining <= 0) this.end(pullId, 'complete');
  }

  private end(pullId: number, reason: string): void {
    const pull = this.outstanding.get(pullId);
    if (!pull) return;
    clearTimeout(pull.timer);
    this.outstanding.delete(pullId);
    this.events.ended(pullId, reason);
  }
}
