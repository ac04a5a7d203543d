import type { JetStreamManager } from '@nats-io/jetstream';
import { nuid, type Msg } from '@nats-io/transport-node';

/** A core NATS message as apps see it (a reply, a subscribed event): subject, data, headers, reply subject. */
export type MeshMsg = Msg;

/** Read access to a message's headers (`get` answers '' for a header that is not there). */
export interface MeshMsgHeaders {
  get(name: string): string;
}

/** A message delivered by a durable consumer, settled by the app with ack, nak (redeliver after a delay) or term. */
export interface ConsumedMessage {
  readonly subject: string;
  /** Its sequence in the stream. */
  readonly seq: number;
  readonly data: Uint8Array;
  readonly headers?: MeshMsgHeaders;
  ack(): void;
  nak(delayMs?: number): void;
  term(reason?: string): void;
}

/** A running consumption of a durable consumer; `close` stops the deliveries. */
export interface Consumption {
  close(): Promise<unknown>;
}

/** A consumption read as an async iterator (one message at a time). */
export type ConsumedMessages = AsyncIterable<ConsumedMessage> & Consumption;

/** One message of a stream, read by sequence. */
export interface StreamMessage {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly header?: MeshMsgHeaders;
}

/** One change of a watched KV key, as the watch yields it. */
export interface KeyChange {
  readonly operation: 'PUT' | 'DEL' | 'PURGE';
  readonly value: Uint8Array;
  json<T>(): T;
}

/** A watch of one KV key: its changes in order, until `stop`. */
export type KeyWatch = AsyncIterable<KeyChange> & { stop(): void };

/** Messages of the mesh's streams (work, dead letters) read and removed by sequence. */
export interface StreamMessages {
  /** The first and last sequence the stream holds (0 when it never held any). */
  bounds(stream: string): Promise<{ firstSeq: number; lastSeq: number }>;
  /** Message `seq` of `stream`; null when it is gone (removed, aged out) or could not be read. */
  get(stream: string, seq: number): Promise<StreamMessage | null>;
  /** Removes message `seq` of `stream`; false when it was already gone or could not be removed. */
  remove(stream: string, seq: number): Promise<boolean>;
}

/** StreamMessages over JetStream's management API. */
export class JsmStreamMessages implements StreamMessages {
  constructor(private readonly jsm: JetStreamManager) {}

  async bounds(stream: string): Promise<{ firstSeq: number; lastSeq: number }> {
    const { state } = await this.jsm.streams.info(stream);
    return { firstSeq: state.first_seq, lastSeq: state.last_seq };
  }

  get(stream: string, seq: number): Promise<StreamMessage | null> {
    return this.jsm.streams.getMessage(stream, { seq }).catch(() => null);
  }

  remove(stream: string, seq: number): Promise<boolean> {
    return this.jsm.streams.deleteMessage(stream, seq).catch(() => false);
  }
}

/** A new unique id (a NUID: 22 characters, base 62). */
export function uniqueId(): string {
  return nuid.next();
}
