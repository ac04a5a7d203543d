import { Inject, Injectable } from '@nestjs/common';
import { decodeBody, InvalidMessageError, MeshHeader, PROTOCOL_VERSION, type DeadLetterView, type JsonValue } from '@taskmesh/protocol';
import { MESH_BUS, type MeshBus } from '@taskmesh/nats';

/** `mesh.deadletters.list` returns at most this many, newest first. */
export const MAX_DEAD_LETTERS_LISTED = 1000;

/** Lists the dead-letter stream, newest first. */
@Injectable()
export class DeadLettersService {
  constructor(@Inject(MESH_BUS) private readonly bus: MeshBus) {}

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
    const stream = this.bus.names.deadLetterStream;
    const { firstSeq, lastSeq } = await this.bus.streams.bounds(stream);
    const out: DeadLetterView[] = [];
    const decoder = new TextDecoder();
    for (let seq = lastSeq; seq >= firstSeq && seq > 0 && out.length < (limit as number); seq--) {
      const m = await this.bus.streams.get(stream, seq);
      if (!m) continue; // removed by its age or size limit
      const text = decoder.decode(m.data);
      let parsed: JsonValue;
      try {
        parsed = JSON.parse(text) as JsonValue;
      } catch {
        parsed = text;
      }
      const h = m.header;
      const num = (name: string): number | undefined => (h?.get(name) ? Number(h.get(name)) : undefined);
      out.push({
        seq: m.seq, task: m.subject.split('.').at(-1) ?? '', reason: h?.get(MeshHeader.Reason) ?? '',
        fromStream: h?.get(MeshHeader.DeadStream) || undefined, fromSeq: num(MeshHeader.DeadSeq), deliveries: num(MeshHeader.DeadDeliveries),
        at: h?.get(MeshHeader.DeadAt) || undefined, body: parsed,
      });
    }
    return { v: PROTOCOL_VERSION, deadLetters: out };
  }
}
