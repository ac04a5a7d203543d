import { RequestMessage } from '@taskmesh/protocol';
import type { StimulusInput } from '../dispatcher/worker-dispatcher.js';
import { DeliveryFeed } from './delivery-feed.js';

const data = (id: string): Uint8Array => new TextEncoder().encode(JSON.stringify(RequestMessage.create({
  id, task: 'sleep', args: null, deadline: 1, createdAt: '2026-01-01T00:00:00.000Z',
})));
const delivery = (id: string, deliveryCount: number): Extract<StimulusInput, { type: 'work-received' }> => ({
  type: 'work-received', pullId: 1, ref: deliveryCount, data: data(id), deliveryCount, wallNow: 5,
});

/** A look-up the test answers by hand. */
function manualLookup(): { lookup: (id: string) => Promise<boolean>; answer(id: string, v: boolean | Error): void } {
  const waiting = new Map<string, { resolve(v: boolean): void; reject(e: Error): void }>();
  return {
    lookup: (id) => new Promise((resolve, reject) => void waiting.set(id, { resolve, reject })),
    answer: (id, v) => (v instanceof Error ? waiting.get(id)?.reject(v) : waiting.get(id)?.resolve(v)),
  };
}

const flushed = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe(DeliveryFeed.name, () => {
  it('passes first deliveries and pull ends straight through', () => {
    // The ordinary case: no look-up, no delay.
    const fed: StimulusInput[] = [];
    const feed = new DeliveryFeed((s) => fed.push(s), () => Promise.reject(new Error('no look-up expected')));
    feed.delivered(delivery('a', 1));
    feed.ended({ type: 'pull-ended', pullId: 1, reason: 'complete' });
    expect(fed.map((s) => s.type)).toEqual(['work-received', 'pull-ended']);
    expect(fed[0]).not.toHaveProperty('startedBefore');
  });

  it('a redelivery waits for "did it start before?", and what came after it waits behind it', async () => {
    // A lost worker's message comes back; the pull that brought it ends at once (batch 1). The core must see the
    // delivery before the pull's end, or it would take the delivery for one it never asked for.
    const fed: StimulusInput[] = [];
    const { lookup, answer } = manualLookup();
    const feed = new DeliveryFeed((s) => fed.push(s), lookup, () => 99);
    feed.delivered(delivery('a', 2));
    feed.ended({ type: 'pull-ended', pullId: 1, reason: 'complete' });
    feed.delivered(delivery('b', 1));
    expect(fed).toEqual([]);
    answer('a', true);
    await flushed();
    expect(fed.map((s) => s.type)).toEqual(['work-received', 'pull-ended', 'work-received']);
    expect(fed[0]).toMatchObject({ startedBefore: true, deliveryCount: 2, wallNow: 99 });
    expect(fed[2]).not.toHaveProperty('startedBefore');
  });

  it('keeps the order of two redeliveries whose look-ups answer in reverse', async () => {
    const fed: StimulusInput[] = [];
    const { lookup, answer } = manualLookup();
    const feed = new DeliveryFeed((s) => fed.push(s), lookup);
    feed.delivered(delivery('a', 2));
    feed.delivered(delivery('b', 3));
    answer('b', false);
    await flushed();
    expect(fed).toEqual([]);
    answer('a', new Error('stream unavailable'));
    await flushed();
    // An unreadable fact counts as "started": recovery must never become a TIMEOUT.
    expect(fed).toEqual([expect.objectContaining({ ref: 2, startedBefore: true }), expect.objectContaining({ ref: 3, startedBefore: false })]);
  });
});
