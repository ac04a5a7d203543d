import { ResponseMessage, type InvocationRecord } from '@taskmesh/protocol';
import { EVENTS_ABSENT_MS, followInvocation, type EventFeed, type EventRound } from './invocation-events.js';

const encode = (r: ResponseMessage | object): { data: Uint8Array } => ({ data: new TextEncoder().encode(JSON.stringify(r)) });

/** A feed that hands out the given rounds, then empty ones; counts closes. */
function feedOf(rounds: Array<Array<ResponseMessage | object>>): EventFeed & { closed: number; served: number } {
  const feed = {
    closed: 0,
    served: 0,
    round: async (): Promise<EventRound> => {
      const items = rounds[feed.served++] ?? [];
      return { stop: () => undefined, [Symbol.asyncIterator]: async function* () { for (const i of items) yield encode(i); } };
    },
    close: async () => {
      feed.closed++;
    },
  };
  return feed;
}

const record = (state: InvocationRecord['state'], more: Partial<InvocationRecord> = {}): InvocationRecord => ({
  v: 1, id: 'i1', task: 'sleep', state, attempts: 0, createdAt: '2026-01-01T00:00:00.000Z', children: [], ...more,
});

const drain = async <T>(it: AsyncIterable<T>): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};

describe(followInvocation.name, () => {
  it('yields the stream\'s events in order and ends after the final one, skipping what is not this invocation\'s RESPONSE', async () => {
    // A sleep with progress, live: the events come in two rounds, with noise on the subject.
    const feed = feedOf([
      [ResponseMessage.state('i1', 'RUNNING'), { garbage: true }, ResponseMessage.event('i1', 'progress', { step: 1 })],
      [ResponseMessage.state('other', 'RUNNING'), ResponseMessage.success('i1', 42), ResponseMessage.event('i1', 'late')],
    ]);
    const events = await drain(followInvocation('i1', feed, async () => record('RUNNING')));
    expect(events.map((e) => e.state)).toEqual(['RUNNING', 'EVENT', 'SUCCESS']);
    expect(feed.closed).toBe(1);
  });

  it('ends with the record\'s outcome when the record is final and a further round brings no final event', async () => {
    // A WAITING invocation cancelled by the orchestrator: nothing in the stream, the outcome only in the record.
    const feed = feedOf([]);
    const cancelled = record('FAILURE', { failure: { code: 'CANCELLED', message: 'cancelled before it started', retryable: false } as InvocationRecord['failure'] });
    const events = await drain(followInvocation('i1', feed, async () => cancelled));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ id: 'i1', state: 'FAILURE', data: { failure: { code: 'CANCELLED' } } });
    expect(feed.served).toBe(2);
  });

  it('prefers the stream\'s final event to the record when the round after the record brings it', async () => {
    const feed = feedOf([[], [ResponseMessage.success('i1', 'from the stream')]]);
    const events = await drain(followInvocation('i1', feed, async () => record('SUCCESS', { result: 'from the record' })));
    expect(events.map((e) => e.result)).toEqual(['from the stream']);
  });

  it('gives up with NotFoundError when neither record nor event appears in time, and closes the feed', async () => {
    let now = 0;
    const feed = feedOf([]);
    const reading = drain(followInvocation('i1', { ...feed, round: async () => { now += 1_000; return feed.round(); } }, async () => undefined, { now: () => now }));
    await expect(reading).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(`${EVENTS_ABSENT_MS} ms`) });
    expect(feed.closed).toBe(1);
  });

  it('stops quietly on abort, and when the caller breaks out', async () => {
    const controller = new AbortController();
    const feed = feedOf([[ResponseMessage.state('i1', 'RUNNING')]]);
    const seen: string[] = [];
    for await (const e of followInvocation('i1', feed, async () => record('RUNNING'), { signal: controller.signal })) {
      seen.push(e.state);
      controller.abort();
    }
    expect(seen).toEqual(['RUNNING']);
    expect(feed.closed).toBe(1);
    const other = feedOf([[ResponseMessage.state('i1', 'RUNNING'), ResponseMessage.event('i1', 'x')]]);
    for await (const e of followInvocation('i1', other, async () => record('RUNNING'))) if (e.state === 'RUNNING') break;
    expect(other.closed).toBe(1);
  });
});
