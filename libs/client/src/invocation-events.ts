/**
 * `MeshClient.events(id)`: every RESPONSE of an invocation from its first, then live, ending after the final one
 * (docs/PROTOCOL.md section 2: `<p>.events.invocation.<id>`, stream `<P>_EVENTS`). The stream is read with a
 * JetStream ordered consumer filtered to the invocation's subject (deliver all, no acks, removed at the end).
 *
 * Some final states are written only to the invocation's record (a WAITING invocation cancelled or expired by the
 * orchestrator, an event aged out of the stream), so the record is read too: when nothing arrives for a round, and
 * at least every RECORD_CHECK_MS. A final record ends the iteration with its outcome once one more round found no
 * final event (a worker stores its final event before the record is written, so that round meets it if it exists).
 * A final event that a redrive's `redriven` EVENT follows in the stream does not end it: the new attempt's events
 * follow, up to its own final event (docs/PROTOCOL.md section 4.12).
 */
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import {
  InternalError, InvalidMessageError, isFinalState, NotFoundError, recordResponse, REDRIVEN_EVENT, ResponseMessage, ResponseState, type InvocationRecord,
} from '@taskmesh/protocol';

/** How long one round waits for events at the server (nats.js's floor is 1 s). */
export const EVENT_ROUND_MS = 1_000;
/** Events asked for in one round: what one round holds in memory at most. */
export const EVENT_BATCH = 256;
/** The record is read at least this often while events flow (a final state may be written only there). */
export const RECORD_CHECK_MS = 5_000;
/** With neither a record nor an event for this long, the id is not an invocation: NotFoundError. */
export const EVENTS_ABSENT_MS = 10_000;

/** One round of event messages (stoppable); `pending` is how many more the stream holds after each (JetStream's count). */
export interface EventRound extends AsyncIterable<{ data: Uint8Array; info?: { pending: number; timestampNanos?: number } }> {
  stop(): void;
}

/** Where the events come from: rounds of messages in stream order, and a close that frees the server's consumer. */
export interface EventFeed {
  round(): Promise<EventRound>;
  close(): Promise<void>;
}

/** Reads the invocation's record; undefined when there is none (yet). */
export type RecordReader = () => Promise<InvocationRecord | undefined>;

/**
 * The events of invocation `id` from `feed`, ending after the final one; the record fills in a final state that is
 * not in the stream. `signal` ends the iteration quietly; so does breaking out of the loop. The feed is closed
 * in every case. Events that are not a valid RESPONSE of this invocation are skipped (anyone may publish there).
 */
export async function* followInvocation(
  id: string,
  feed: EventFeed,
  readRecord: RecordReader,
  options: { signal?: AbortSignal; now?: () => number } = {},
): AsyncGenerator<ResponseMessage, void, undefined> {
  const now = options.now ?? (() => performance.now());
  const signal = options.signal;
  const aborted = (): boolean => signal?.aborted === true;
  const started = now();
  let seen = false;
  let finalRecord: InvocationRecord | undefined;
  let lastCheck = -Infinity;
  try {
    while (!aborted()) {
      const round = await feed.round();
      const stop = (): void => round.stop();
      signal?.addEventListener('abort', stop, { once: true });
      let got = 0;
      // A final event was yielded with more behind it: the iteration goes on only if a redrive follows it.
      let ended = false;
      try {
        for await (const m of round) {
          const event = parseEvent(m.data, id, m.info?.timestampNanos);
          if (event === undefined) continue;
          got++;
          seen = true;
          if (ended) {
            if (!isRedrive(event)) {
              if ((m.info?.pending ?? 0) === 0) return;
              continue;
            }
            ended = false;
          }
          yield event;
          if (event.isFinal) {
            if ((m.info?.pending ?? 0) === 0) return;
            ended = true;
          }
        }
      } finally {
        signal?.removeEventListener('abort', stop);
      }
      if (aborted() || ended) return;
      // A final record seen before a round that found no final event: the stream has none to give.
      if (finalRecord !== undefined && got === 0) {
        yield recordResponse(finalRecord);
        return;
      }
      if (got === 0 || now() - lastCheck >= RECORD_CHECK_MS) {
        lastCheck = now();
        const record = await readRecord();
        if (record !== undefined) {
          seen = true;
          if (isFinalState(record.state)) finalRecord = record;
        } else if (!seen && now() - started >= EVENTS_ABSENT_MS) {
          throw new NotFoundError(`no invocation ${id}: no record and no event within ${EVENTS_ABSENT_MS} ms`, { details: { id } });
        }
      }
    }
  } finally {
    await feed.close().catch(() => undefined);
  }
}

/** The event a redrive stores after the FAILURE it reopens (docs/PROTOCOL.md section 4.12). */
function isRedrive(event: ResponseMessage): boolean {
  return event.state === ResponseState.EVENT && event.event?.eventType === REDRIVEN_EVENT;
}

/**
 * A RESPONSE of invocation `id`, or undefined for anything else on its subject. An event that does not say when
 * (`at`) gets the time the stream stored it, which follows its publication by the network's delay.
 */
function parseEvent(data: Uint8Array, id: string, storedNanos?: number): ResponseMessage | undefined {
  try {
    const event = ResponseMessage.parse(data);
    if (event.id !== id) return undefined;
    if (event.at === undefined && storedNanos !== undefined && storedNanos > 0) event.at = new Date(Math.round(storedNanos / 1e6)).toISOString();
    return event;
  } catch (err) {
    if (err instanceof InvalidMessageError) return undefined;
    throw err;
  }
}

/**
 * An EventFeed on the events stream: an ordered consumer filtered to `subject` (deliver all), read in rounds of
 * EVENT_BATCH messages waiting EVENT_ROUND_MS; closing deletes the consumer (the server would drop it after 5 minutes
 * unused anyway).
 */
export async function orderedEventFeed(js: JetStreamClient, stream: string, subject: string): Promise<EventFeed> {
  let consumer;
  try {
    consumer = await js.consumers.get(stream, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
  } catch (err) {
    throw new InternalError(`cannot read the events stream ${stream}: ${(err as Error).message} (is the mesh's prefix right?)`, { cause: err, details: { stream } });
  }
  const ordered = consumer;
  let current: { stop(): void } | undefined;
  return {
    round: async () => {
      const messages = await ordered.fetch({ max_messages: EVENT_BATCH, expires: EVENT_ROUND_MS });
      current = messages;
      return { [Symbol.asyncIterator]: () => messages[Symbol.asyncIterator](), stop: () => messages.stop() };
    },
    close: async () => {
      current?.stop(); // a reader that broke out mid-round leaves its pull open otherwise
      await ordered.delete().catch(() => undefined);
    },
  };
}
