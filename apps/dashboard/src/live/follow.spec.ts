import type { Logger } from '@nestjs/common';
import { everyPeriod, followForever, Recent } from './follow.js';

const logger = (): Logger & { warned: unknown[] } => {
  const warned: unknown[] = [];
  return { warned, warn: (m: unknown) => void warned.push(m) } as unknown as Logger & { warned: unknown[] };
};

describe(Recent.name, () => {
  it('keeps the newest items up to its bound, oldest first', () => {
    const r = new Recent<number>(3);
    for (let i = 1; i <= 5; i++) r.add(i);
    expect(r.list()).toEqual([3, 4, 5]);
  });
});

describe(everyPeriod.name, () => {
  it('ticks until aborted, a failing tick logged and not fatal, and leaves no listener behind', async () => {
    const stop = new AbortController();
    const log = logger();
    let ticks = 0;
    let listeners = 0;
    const add = stop.signal.addEventListener.bind(stop.signal);
    const remove = stop.signal.removeEventListener.bind(stop.signal);
    stop.signal.addEventListener = ((...a: Parameters<typeof add>) => (listeners++, add(...a))) as typeof add;
    stop.signal.removeEventListener = ((...a: Parameters<typeof remove>) => (listeners--, remove(...a))) as typeof remove;
    let fifth!: () => void;
    const reached = new Promise<void>((resolve) => (fifth = resolve));
    const running = everyPeriod('tick', 1, async () => {
      ticks++;
      if (ticks === 2) throw new Error('boom');
      if (ticks === 5) fifth();
    }, stop.signal, log);
    await reached;
    expect(listeners).toBeLessThanOrEqual(1);
    stop.abort();
    await running;
    expect(log.warned).toEqual([{ msg: 'tick failed', reason: 'boom' }]);
  });
});

describe(followForever.name, () => {
  it('hands every item on and follows the feed again after it fails, until aborted', async () => {
    const stop = new AbortController();
    const log = logger();
    const seen: number[] = [];
    let opened = 0;
    async function* feed(): AsyncGenerator<number> {
      opened++;
      yield opened * 10;
      if (opened === 1) throw new Error('fell behind');
      stop.abort();
    }
    await followForever('numbers', feed, (n) => seen.push(n), stop.signal, log);
    expect(seen).toEqual([10, 20]);
    expect(log.warned).toEqual([{ msg: 'numbers feed stopped: following it again', reason: 'fell behind' }]);
  });
});
