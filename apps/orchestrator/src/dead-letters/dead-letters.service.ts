import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  decodeBody, InvalidMessageError, MeshHeader, PROTOCOL_VERSION, REDRIVEN_EVENT, RequestMessage, ResponseMessage,
  type DeadLetterView, type JsonValue, type RedriveMark, type RedriveReply, type RedriveSkip,
} from '@taskmesh/protocol';
import { APP_CONFIG } from '@taskmesh/runtime';
import type { OrchestratorConfig } from '../orchestrator.config.js';
import { MESH_BUS, type MeshBus, type StreamMessage } from '@taskmesh/nats';
import { parseRedriveTarget, redriveRecord, type RedriveTarget } from './redrive.js';

/** `mesh.deadletters.list` returns at most this many, newest first. */
export const MAX_DEAD_LETTERS_LISTED = 1000;
/** One redrive request puts back at most this many dead letters (`more: true` says to ask again). */
export const MAX_REDRIVEN_PER_REQUEST = 100;
/**
 * One redrive request reads at most this many dead letters, newest first (`more: true` when it stopped there): one
 * read each, so a request stays well inside a caller's 10 s.
 */
export const MAX_REDRIVE_SCAN = 2_000;
/** Revision conflicts on one record (another redrive or the recorder wrote first) before the redrive gives up on it. */
const MAX_REDRIVE_CONFLICTS = 5;

/** Lists the dead-letter stream, newest first, and redrives dead letters (docs/PROTOCOL.md sections 4.7 and 4.12). */
@Injectable()
export class DeadLettersService {
  private readonly log = new Logger('DeadLetters');

  /** Half the streams' duplicate window: a redrive's work and event sent again within it are stored once. */
  private readonly requeueWithinMs: number;

  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(APP_CONFIG) config: OrchestratorConfig,
  ) {
    this.requeueWithinMs = config.MESH_DEDUP_WINDOW_MS / 2;
  }

  async list(raw: Uint8Array): Promise<{ v: typeof PROTOCOL_VERSION; deadLetters: DeadLetterView[] }> {
    const body = decodeBody(raw, 'request');
    const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
    if (!fields) throw new InvalidMessageError('invalid request: body must be a JSON object', ['body: must be a JSON object']);
    const unknown = Object.keys(fields).filter((k) => k !== 'limit');
    if (unknown.length > 0) throw new InvalidMessageError(`invalid request: unknown field ${JSON.stringify(unknown[0])}`, unknown.map((k) => `unknown field ${JSON.stringify(k)}`));
    const limit = fields['limit'] ?? 100;
    if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_DEAD_LETTERS_LISTED) {
      throw new InvalidMessageError(`invalid request: limit must be an integer from 1 to ${MAX_DEAD_LETTERS_LISTED}`, ['limit: out of range']);
    }
    const out: DeadLetterView[] = [];
    for await (const m of this.newestFirst()) {
      out.push(deadLetterView(m));
      if (out.length >= (limit as number)) break;
    }
    return { v: PROTOCOL_VERSION, deadLetters: out };
  }

  /**
   * Puts dead-lettered work back on the work queue as a new attempt of the same invocation: `{id}` the newest dead
   * letter of that invocation, `{all: true, task?}` every one (of that task), newest first. Exactly once per dead
   * letter, even when two requests race: the fence is the revision-checked write of the record from FAILURE to
   * WAITING (redriveRecord); only its winner queues the work, then removes the dead letter.
   */
  async redrive(raw: Uint8Array): Promise<{ v: typeof PROTOCOL_VERSION } & RedriveReply> {
    const target = parseRedriveTarget(decodeBody(raw, 'request'));
    const redriven: string[] = [];
    const skipped: RedriveSkip[] = [];
    let scanned = 0;
    let more = false;
    for await (const m of this.newestFirst()) {
      if (++scanned > MAX_REDRIVE_SCAN || redriven.length >= MAX_REDRIVEN_PER_REQUEST) {
        more = true;
        break;
      }
      const request = requestOf(m);
      if (!matches(target, m, request)) continue;
      if (!request) {
        skipped.push({ id: `seq:${m.seq}`, reason: 'not a valid request: nothing to run' });
        continue;
      }
      // An invocation redriven by this request already: its older dead letters are history.
      if (redriven.includes(request.id)) continue;
      const skip = await this.redriveOne(m, request);
      if (skip === undefined) redriven.push(request.id);
      else if (!skipped.some((s) => s.id === request.id)) skipped.push({ id: request.id, reason: skip });
      if ('id' in target) break; // the newest dead letter of the invocation is the one that counts
    }
    if ('id' in target && redriven.length === 0 && skipped.length === 0) skipped.push({ id: target.id, reason: 'no dead letter of this invocation' });
    return { v: PROTOCOL_VERSION, redriven, skipped, ...(more ? { more } : {}) };
  }

  /** Redrives one dead letter; undefined when it was put back by this call, else why not. */
  private async redriveOne(m: StreamMessage, request: RequestMessage): Promise<string | undefined> {
    for (let conflict = 0; conflict < MAX_REDRIVE_CONFLICTS; conflict++) {
      const stored = await this.bus.invocations.get(request.id);
      const decision = redriveRecord(stored?.record, m.seq, new Date().toISOString(), this.requeueWithinMs);
      if (decision.kind === 'skip') return decision.reason;
      if (decision.kind === 'requeue') {
        // Whoever wrote the record may not have queued the work: make sure it is queued (stored once), then the
        // dead letter goes. The redrive is still the other one's.
        await this.queue(request, m, decision.mark);
        await this.bus.streams.remove(this.bus.names.deadLetterStream, m.seq);
        return 'already redriven';
      }
      // The fence: of two racing redrives, one writes this revision; the other re-reads and finds it WAITING.
      if (!(await this.bus.invocations.update(decision.record, stored!.revision))) continue;
      try {
        await this.queue(request, m, decision.record.redrive!);
      } catch (err) {
        // Put the record back, so the dead letter can be redriven again; if even that fails, cancel it to end it.
        this.log.error({ msg: 'redrive interrupted: could not queue the work; restoring the record', invocationId: request.id, err: String(err) });
        const now = await this.bus.invocations.get(request.id);
        if (now) await this.bus.invocations.update(stored!.record, now.revision).catch(() => false);
        return `could not queue the work: ${(err as Error).message}`;
      }
      if (!(await this.bus.streams.remove(this.bus.names.deadLetterStream, m.seq))) {
        this.log.warn({ msg: 'redriven, but its dead letter could not be removed (it will be skipped as already redriven)', invocationId: request.id, seq: m.seq });
      }
      this.log.log({ msg: 'dead letter redriven', invocationId: request.id, task: request.task, seq: m.seq, afterAttempt: decision.record.redrive!.afterAttempt });
      return undefined;
    }
    return 'its record changed too often; retry';
  }

  /**
   * Stores the redrive in the invocation's history, then its work, each under a message id of this dead letter, so
   * that a second redrive of it (racing, or finishing an interrupted one) stores neither twice.
   */
  private async queue(request: RequestMessage, m: StreamMessage, redrive: RedriveMark): Promise<void> {
    // History first, so a follower of the events meets the redrive before the new attempt's reports.
    const event = ResponseMessage.event(request.id, REDRIVEN_EVENT, { deadLetterSeq: m.seq, afterAttempt: redrive.afterAttempt, count: redrive.count }, { at: redrive.at });
    await this.bus.store(this.bus.subjects.invocationEvent(request.id), JSON.stringify(event), { msgId: `redriven.${request.id}.${m.seq}` });
    await this.bus.store(this.bus.workSubject(request.task, request.key), m.data, {
      headers: { [MeshHeader.Redriven]: String(redrive.afterAttempt) },
      msgId: `redrive.${request.id}.${m.seq}`,
    });
  }

  /** The dead letters, newest first (those removed meanwhile are passed over). */
  private async *newestFirst(): AsyncGenerator<StreamMessage> {
    const stream = this.bus.names.deadLetterStream;
    const { firstSeq, lastSeq } = await this.bus.streams.bounds(stream);
    for (let seq = lastSeq; seq >= firstSeq && seq > 0; seq--) {
      const m = await this.bus.streams.get(stream, seq);
      if (m) yield m; // else removed by its age or size limit, or redriven
    }
  }
}

/** A dead letter as `mesh.deadletters.list` shows it. */
function deadLetterView(m: StreamMessage): DeadLetterView {
  const text = new TextDecoder().decode(m.data);
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(text) as JsonValue;
  } catch {
    parsed = text;
  }
  const h = m.header;
  const num = (name: string): number | undefined => (h?.get(name) ? Number(h.get(name)) : undefined);
  return {
    seq: m.seq, task: taskOf(m), reason: h?.get(MeshHeader.Reason) ?? '',
    fromStream: h?.get(MeshHeader.DeadStream) || undefined, fromSeq: num(MeshHeader.DeadSeq), deliveries: num(MeshHeader.DeadDeliveries),
    at: h?.get(MeshHeader.DeadAt) || undefined, body: parsed,
  };
}

function taskOf(m: StreamMessage): string {
  return m.subject.split('.').at(-1) ?? '';
}

function requestOf(m: StreamMessage): RequestMessage | undefined {
  try {
    return RequestMessage.parse(m.data);
  } catch {
    return undefined;
  }
}

function matches(target: RedriveTarget, m: StreamMessage, request: RequestMessage | undefined): boolean {
  if ('id' in target) return request?.id === target.id;
  return target.task === undefined || taskOf(m) === target.task;
}
