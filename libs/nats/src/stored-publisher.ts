import { JetStreamApiError } from '@nats-io/jetstream';
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { newInbox } from './inbox.js';
import { retrying } from './retrying.js';

/** What JetStream answers a stored publish with. */
export interface PubAck {
  stream: string;
  seq: number;
  /** The message id was seen within the stream's duplicate window: the message was not stored again. */
  duplicate?: boolean;
}

/** How long a stored publish waits for its acknowledgement by default (nats.js's own default is 5 s). */
export const DEFAULT_STORE_TIMEOUT_MS = 5_000;
/** How often outstanding publishes are checked against their deadlines (one timer for all of them). */
const SWEEP_EVERY_MS = 250;
/** publishRetrying: how long one attempt waits for its acknowledgement. */
const ATTEMPT_TIMEOUT_MS = 2_000;

/** No acknowledgement came in time: the message may or may not be stored. */
export class StoreTimeoutError extends Error {
  constructor(subject: string) {
    super(`publish to ${subject}: no acknowledgement from the stream in time (it may or may not be stored)`);
    this.name = 'StoreTimeoutError';
  }
}

/** No stream answered for the subject (none captures it, or, in a cluster, none has a leader at this moment). */
export class NoStreamError extends Error {
  constructor(subject: string) {
    super(`publish to ${subject}: no stream captures this subject`);
    this.name = 'NoStreamError';
  }
}

/**
 * Whether a failed stored publish may succeed if sent again: no acknowledgement, no stream answering, or JetStream
 * saying it is temporarily unavailable (a clustered stream electing a leader). A refusal (stream full, wrong
 * sequence) is final.
 */
export function isStoreRetryable(err: unknown): boolean {
  if (err instanceof StoreTimeoutError || err instanceof NoStreamError) return true;
  return err instanceof JetStreamApiError && err.code === 503;
}

interface Waiting {
  resolve(ack: PubAck): void;
  reject(err: Error): void;
  deadline: number;
  subject: string;
}

/**
 * JetStream publishes that wait for the stream's acknowledgement on ONE inbox subscription, matched by token,
 * with one timer for all deadlines. `js.publish` costs a request (its own promise chain, timer and a thrown-away
 * error per call in nats.js 3.4); on the call path every process publishes stored messages, so this is a hot spot.
 * Refusals reject with nats.js's `JetStreamApiError` (so `isStreamFullError`, `isWrongRevision` apply), no stream
 * for the subject with an Error saying so, and a missing acknowledgement with a timeout Error: in that last case
 * the message may or may not be stored, as with any request.
 */
export class StoredPublisher {
  private readonly prefix: string;
  private readonly sub: Subscription;
  private readonly waiting = new Map<string, Waiting>();
  private next = 0;
  private sweeper?: NodeJS.Timeout;

  constructor(private readonly nc: NatsConnection) {
    this.prefix = `${newInbox(nc)}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, { callback: (_err, msg) => this.onAck(msg) });
  }

  /**
   * Publishes `data` to the stream that captures `subject` and resolves with its acknowledgement. `msgId` is the
   * stream's dedup id (`Nats-Msg-Id`), `expectLastSubjectSeq` makes the write conditional on the subject's last
   * sequence (0: only if the subject has no message), as a KV create/update does.
   */
  publish(subject: string, data: Uint8Array | string, opts: {
    headers?: Record<string, string>; msgId?: string; expectLastSubjectSeq?: number; timeoutMs?: number;
  } = {}): Promise<PubAck> {
    const token = (this.next = (this.next + 1) % Number.MAX_SAFE_INTEGER).toString(36);
    let hdrs: MsgHdrs | undefined;
    if (opts.headers !== undefined || opts.msgId !== undefined || opts.expectLastSubjectSeq !== undefined) {
      hdrs = natsHeaders();
      for (const [k, v] of Object.entries(opts.headers ?? {})) hdrs.set(k, v);
      if (opts.msgId !== undefined) hdrs.set('Nats-Msg-Id', opts.msgId);
      if (opts.expectLastSubjectSeq !== undefined) hdrs.set('Nats-Expected-Last-Subject-Sequence', String(opts.expectLastSubjectSeq));
    }
    return new Promise<PubAck>((resolve, reject) => {
      this.waiting.set(token, { resolve, reject, deadline: performance.now() + (opts.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS), subject });
      this.sweeper ??= setInterval(() => this.sweep(), SWEEP_EVERY_MS);
      try {
        this.nc.publish(subject, data, { reply: this.prefix + token, ...(hdrs ? { headers: hdrs } : {}) });
      } catch (err) {
        this.waiting.delete(token);
        reject(err as Error);
      }
    });
  }

  /**
   * publish(), sent again while the message's fate is unknown or the stream is briefly unavailable
   * (isStoreRetryable), e.g. while a clustered stream elects a new leader after its leader died, until it is
   * acknowledged or `retryForMs` has passed. With a `msgId` the stream stores it once (a copy that did arrive the
   * first time comes back as a `duplicate` acknowledgement, within the stream's duplicate window, far longer than
   * any `retryForMs` here). Without one, a lost acknowledgement can leave two copies: only for messages whose
   * readers apply a repeat once (an invocation's outcome event). Costs nothing more when the first attempt is
   * acknowledged.
   */
  publishRetrying(subject: string, data: Uint8Array | string, opts: { headers?: Record<string, string>; msgId?: string; retryForMs: number }): Promise<PubAck> {
    return retrying(
      (leftMs) => this.publish(subject, data, { headers: opts.headers, msgId: opts.msgId, timeoutMs: Math.max(1, Math.min(ATTEMPT_TIMEOUT_MS, leftMs)) }),
      { forMs: opts.retryForMs, retryable: isStoreRetryable, firstPauseMs: 100, maxPauseMs: 1_000 },
    );
  }

  /** Publishes still waiting for their acknowledgement. */
  get size(): number {
    return this.waiting.size;
  }

  /** Stops listening; publishes still waiting are rejected. */
  close(): void {
    this.sub.unsubscribe();
    this.stopSweeping();
    for (const [token, w] of this.waiting) {
      this.waiting.delete(token);
      w.reject(new Error(`publish to ${w.subject}: connection closing before the stream acknowledged it`));
    }
  }

  private onAck(msg: Msg): void {
    const token = msg.subject.slice(this.prefix.length);
    const w = this.waiting.get(token);
    if (!w) return; // Timed out already.
    this.waiting.delete(token);
    if (this.waiting.size === 0) this.stopSweeping();
    const status = msg.headers?.code ?? 0;
    if (status === 503) return w.reject(new NoStreamError(w.subject));
    let ack: { stream?: string; seq?: number; duplicate?: boolean; error?: { code: number; err_code: number; description: string } };
    try {
      ack = msg.json();
    } catch {
      return w.reject(new Error(`publish to ${w.subject}: unreadable acknowledgement (status ${status})`));
    }
    if (ack.error) return w.reject(new JetStreamApiError(ack.error));
    if (typeof ack.stream !== 'string' || typeof ack.seq !== 'number') return w.reject(new Error(`publish to ${w.subject}: unreadable acknowledgement`));
    w.resolve({ stream: ack.stream, seq: ack.seq, ...(ack.duplicate ? { duplicate: true } : {}) });
  }

  private sweep(): void {
    const now = performance.now();
    for (const [token, w] of this.waiting) {
      if (w.deadline > now) continue;
      this.waiting.delete(token);
      w.reject(new StoreTimeoutError(w.subject));
    }
    if (this.waiting.size === 0) this.stopSweeping();
  }

  private stopSweeping(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
