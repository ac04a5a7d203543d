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

/** A round whose messages carry JetStream's pending count (how many more the stream holds after each). */
function pendingRound(items: Array<ResponseMessage | object>): EventRound {
  return {
    stop: () => undefined,
    [Symbol.asyncIterator]: async function* () {
      for (const [i, item] of items.entries()) yield { ...encode(item), info: { pending: items.length - 1 - i } };
    },
  };
}

describe(followInvocation.name, () => {
  it('reads on past a final event that a redrive follows, to the new attempt\'s outcome', async () => {
    // Dead-lettered after attempt 3, then redriven by an operator: attempt 4 succeeds.
    const items = [
      ResponseMessage.failure('i1', { code: 'TASK_FAILED', message: 'flaky', retryable: true } as never, { attempt: 3 }),
      ResponseMessage.event('i1', 'redriven', { deadLetterSeq: 9 }),
      ResponseMessage.state('i1', 'RUNNING', { attempt: 4 }),
      ResponseMessage.success('i1', 'ok', { attempt: 4 }),
    ];
    const feed = { ...feedOf([]), round: async () => pendingRound(items) };
    const events = await drain(followInvocation('i1', feed, async () => record('SUCCESS')));
    expect(events.map((e) => `${e.state}@${e.attempt ?? '-'}`)).toEqual(['FAILURE@3', 'EVENT@-', 'RUNNING@4', 'SUCCESS@4']);
  });

  it('ends at a final event with nothing behind it, and at one followed by anything but a redrive', async () => {
    const last = [ResponseMessage.state('i1', 'RUNNING'), ResponseMessage.success('i1', 1)];
    expect(await drain(followInvocation('i1', { ...feedOf([]), round: async () => pendingRound(last) }, async () => record('SUCCESS')))).toHaveLength(2);
    // A repeated outcome (an event stored twice) behind the final one is not a reason to go on.
    const repeated = [ResponseMessage.success('i1', 1), ResponseMessage.success('i1', 1), ResponseMessage.event('i1', 'late')];
    let rounds = 0;
    const feed = { ...feedOf([]), round: async () => (rounds++ === 0 ? pendingRound(repeated) : pendingRound([])) };
    const events = await drain(followInvocation('i1', feed, async () => record('SUCCESS')));
    expect(events.map((e) => e.state)).toEqual(['SUCCESS']);
    expect(rounds).toBe(1);
  });

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

  it('dates an event that does not say when by the time the stream stored it; one that says keeps its own', async () => {
    const stored = Date.parse('2026-12-03T10:00:01.250Z') * 1e6;
    const round: EventRound = {
      stop: () => undefined,
      [Symbol.asyncIterator]: async function* () {
        yield { ...encode(ResponseMessage.state('i1', 'RUNNING')), info: { pending: 1, timestampNanos: stored } };
        yield { ...encode(ResponseMessage.success('i1', 1, { at: '2026-12-03T10:00:02.000Z' })), info: { pending: 0, timestampNanos: stored + 9e8 } };
      },
    };
    const feed = { round: async () => round, close: async () => undefined };
    const events = await drain(followInvocation('i1', feed, async () => record('RUNNING')));
    expect(events.map((e) => e.at)).toEqual(['2026-12-03T10:00:01.250Z', '2026-12-03T10:00:02.000Z']);
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
