import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { InvalidMessageError, isFinalState, ResponseMessage } from '#protocol';
import { ensureRecorderConsumer, MESH_BUS, type MeshBus } from '#nats';
import { counter, HealthRegistry, METRICS, ProgressCheck } from '#runtime';
import type { Registry } from 'prom-client';
import { applyEvent } from './apply-event.js';

/** Events applied at once (different invocations in parallel; one invocation's events strictly in order). */
const MAX_IN_FLIGHT = 64;
/** A record not there yet (its creator is a moment behind): retry the event after this long. */
const MISSING_RECORD_RETRY_MS = 500;
/** Revision conflicts (another replica wrote first) before the event is handed back to JetStream. */
const MAX_CONFLICTS = 5;

/**
 * Applies every reported state change (the events stream) to the invocation records, through the request state
 * machine with attempt fencing (applyEvent). Safe with several orchestrator replicas: they share the durable
 * consumer, and every write is revision-checked (a lost race re-reads and re-applies).
 */
@Injectable()
export class RecorderService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Recorder');
  private messages?: ConsumerMessages;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly progress = new ProgressCheck(60_000);
  private readonly counts;

  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(METRICS) metrics: Registry,
    health: HealthRegistry,
  ) {
    this.counts = {
      events: counter(metrics, 'taskmesh_orchestrator_events_total', 'Reported events, by verdict', ['verdict']),
      invalid: counter(metrics, 'taskmesh_invalid_messages_total', 'Inbound messages that failed validation', ['kind']),
    };
    health.register('nats', () => ({ ok: !bus.nc.isClosed() }));
    health.register('recording', () => (this.messages ? { ok: true } : { ok: false, detail: 'not consuming events' }));
  }

  async onApplicationBootstrap(): Promise<void> {
    await ensureRecorderConsumer(this.bus.jsm, this.bus.subjects.prefix);
    const consumer = await jetstream(this.bus.nc).consumers.get(this.bus.names.eventStream, this.bus.names.recorderConsumer);
    this.messages = await consumer.consume({ max_messages: MAX_IN_FLIGHT });
    void this.loop(this.messages);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.messages?.close();
    await Promise.allSettled([...this.chains.values()]);
  }

  private async loop(messages: ConsumerMessages): Promise<void> {
    for await (const m of messages) {
      this.progress.beat();
      let event: ResponseMessage;
      try {
        event = ResponseMessage.parse(m.data);
      } catch (err) {
        this.counts.invalid.inc({ kind: 'RESPONSE' });
        this.log.warn({ msg: 'invalid event dropped', subject: m.subject, seq: m.seq, problems: err instanceof InvalidMessageError ? err.problems : String(err) });
        m.term();
        continue;
      }
      const id = event.id ?? m.subject.slice(this.bus.subjects.invocationEvent('x').length - 1);
      // Per invocation in order; across invocations in parallel, bounded by the consumer's max_ack_pending.
      const previous = this.chains.get(id) ?? Promise.resolve();
      const next = previous.then(() => this.apply(id, event, m)).catch((err: unknown) => {
        this.log.error({ msg: 'could not record event; JetStream will redeliver it', invocationId: id, err: String(err) });
        m.nak(1000);
      });
      this.chains.set(id, next);
      void next.finally(() => {
        if (this.chains.get(id) === next) this.chains.delete(id);
      });
    }
  }

  private async apply(id: string, event: ResponseMessage, m: JsMsg): Promise<void> {
    for (let conflict = 0; conflict <= MAX_CONFLICTS; conflict++) {
      const stored = await this.bus.invocations.get(id);
      if (!stored) {
        m.nak(MISSING_RECORD_RETRY_MS);
        this.counts.events.inc({ verdict: 'no-record-yet' });
        return;
      }
      const { record, verdict } = applyEvent(stored.record, event);
      if (verdict === 'rejected') {
        this.log.warn({ msg: 'event rejected: superseded attempt or after the final outcome', invocationId: id, state: event.state, attempt: event.attempt, recordState: stored.record.state, recordAttempts: stored.record.attempts });
      }
      if (verdict === 'unchanged' || (await this.bus.invocations.update(record, stored.revision))) {
        this.counts.events.inc({ verdict });
        // Ended: new calls with the same registration key start a new invocation (a stale claim would also be
        // taken over, but releasing keeps the claims bucket small).
        if (isFinalState(record.state) && record.registration !== undefined) await this.bus.claims.release(record.registration, record.id);
        m.ack();
        return;
      }
    }
    throw new Error(`${MAX_CONFLICTS} revision conflicts in a row`);
  }
}
