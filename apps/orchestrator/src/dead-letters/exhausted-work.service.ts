import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import {
  Failure, FailureCode, headerSafe, MeshHeader, RequestMessage, ResponseMessage, serviceErrorHeaders,
} from '@taskmesh/protocol';
import { MESH_BUS, type ConsumedMessages, type MeshBus } from '@taskmesh/nats';
import { counter, METRICS } from '@taskmesh/runtime';
import type { Registry } from 'prom-client';

/** What JetStream's max-deliveries advisory (`io.nats.jetstream.advisory.v1.max_deliver`) says, as read here. */
export interface ExhaustedAdvisory {
  stream: string;
  consumer: string;
  /** The work message's sequence in its stream. */
  seq: number;
  deliveries: number;
}

/** Reads an advisory's body; undefined when it is not one (counted and dropped by the caller). Pure. */
export function parseExhaustedAdvisory(data: Uint8Array): ExhaustedAdvisory | undefined {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const a = value as Record<string, unknown>;
  const ok = a['type'] === 'io.nats.jetstream.advisory.v1.max_deliver' && typeof a['stream'] === 'string' && typeof a['consumer'] === 'string'
    && Number.isSafeInteger(a['stream_seq']) && (a['stream_seq'] as number) > 0 && Number.isSafeInteger(a['deliveries']);
  return ok ? { stream: a['stream'] as string, consumer: a['consumer'] as string, seq: a['stream_seq'] as number, deliveries: a['deliveries'] as number } : undefined;
}

/**
 * The final outcome of work that used up its deliveries without any worker reporting one, as the attempt after
 * `attemptsBefore` (the attempts before a redrive, from the work's Mesh-Redriven header) plus its deliveries. Pure.
 */
export function exhaustedOutcome(invocationId: string, deliveries: number, attemptsBefore = 0): ResponseMessage {
  const failure = Failure.create(
    FailureCode.WORKER_LOST,
    `delivered ${deliveries} times and never finished: its worker was lost (or handed it back) every time; it was dead-lettered`,
    { retryable: false, details: { deliveries } },
  );
  return ResponseMessage.failure(invocationId, failure, { attempt: attemptsBefore + deliveries });
}

/**
 * The headers of the WORKER_LOST event: the first record the work came with (`Mesh-Record`, a generated id), as the
 * workers' events carry it, so the recorder can create the record of an invocation no worker ever reported on.
 * Pure.
 */
export function exhaustedEventHeaders(workRecord: string | undefined): Record<string, string> | undefined {
  return workRecord ? { [MeshHeader.Record]: workRecord } : undefined;
}

/**
 * Settles work that used up its deliveries (MESH_MAX_DELIVER) without an outcome: a message whose every worker
 * was killed (a task that crashes its process is the classic poison message) stays in the work queue, never
 * delivered again, and its invocation would never end. JetStream's max-deliveries advisories are kept in a stream;
 * for each one this copies the work to the dead-letter stream with the reason, records the final FAILURE
 * (WORKER_LOST) through the events stream, answers a waiting caller, and removes the work from the queue. Safe
 * to repeat and with several replicas: work already removed is skipped.
 */
@Injectable()
export class ExhaustedWorkService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('ExhaustedWork');
  private messages?: ConsumedMessages;
  private loop?: Promise<void>;
  private readonly settled;
  private readonly invalid;

  constructor(@Inject(MESH_BUS) private readonly bus: MeshBus, @Inject(METRICS) metrics: Registry) {
    this.settled = counter(metrics, 'taskmesh_orchestrator_exhausted_total', 'Work that used up its deliveries, dead-lettered and failed', ['outcome']);
    this.invalid = counter(metrics, 'taskmesh_invalid_messages_total', 'Inbound messages that failed validation', ['kind']);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.messages = await this.bus.consumeExhaustedAdvisories(16);
    this.loop = this.run(this.messages);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.messages?.close();
    await this.loop;
  }

  private async run(messages: ConsumedMessages): Promise<void> {
    for await (const m of messages) {
      const advisory = parseExhaustedAdvisory(m.data);
      if (!advisory || advisory.stream !== this.bus.names.workStream) {
        this.invalid.inc({ kind: 'ADVISORY' });
        this.log.warn({ msg: 'not a max-deliveries advisory of the work stream; dropped', subject: m.subject, seq: m.seq });
        m.term();
        continue;
      }
      try {
        await this.settle(advisory);
        m.ack();
      } catch (err) {
        this.log.error({ msg: 'could not settle exhausted work; will retry', seq: advisory.seq, err: String(err) });
        m.nak(5_000);
      }
    }
  }

  private async settle(advisory: ExhaustedAdvisory): Promise<void> {
    const stream = this.bus.names.workStream;
    const work = await this.bus.streams.get(stream, advisory.seq);
    if (!work) {
      // Acked at the last moment, or settled by another replica: nothing left to do.
      this.settled.inc({ outcome: 'gone' });
      return;
    }
    let request: RequestMessage | undefined;
    try {
      request = RequestMessage.parse(work.data);
    } catch {
      request = undefined; // still dead-lettered, as `invalid`
    }
    const reason = `deliveries exhausted (${advisory.deliveries}): no worker finished it`;
    // The copy is durable before the original goes.
    await this.bus.storeDeadLetter(request?.task ?? 'invalid', work.data, {
      [MeshHeader.Reason]: headerSafe(reason),
      [MeshHeader.DeadStream]: stream,
      [MeshHeader.DeadSeq]: String(advisory.seq),
      [MeshHeader.DeadDeliveries]: String(advisory.deliveries),
      [MeshHeader.DeadAt]: new Date().toISOString(),
    });
    if (request) {
      const before = Number(work.header?.get(MeshHeader.Redriven) || 0);
      const outcome = exhaustedOutcome(request.id, advisory.deliveries, Number.isSafeInteger(before) && before > 0 ? before : 0);
      const encoded = new TextEncoder().encode(JSON.stringify(outcome));
      // With the work's first record, if it came with one: a call with a generated id may have none yet.
      await this.bus.store(this.bus.subjects.invocationEvent(request.id), encoded, { headers: exhaustedEventHeaders(work.header?.get(MeshHeader.Record)) });
      const replyTo = work.header?.get(MeshHeader.ReplyTo);
      if (replyTo) this.bus.publish(replyTo, encoded, serviceErrorHeaders(outcome.failure!));
    }
    await this.bus.streams.remove(stream, advisory.seq);
    this.settled.inc({ outcome: 'dead-lettered' });
    this.log.warn({ msg: 'work used up its deliveries: dead-lettered and failed', invocationId: request?.id, task: request?.task, deliveries: advisory.deliveries });
  }
}
