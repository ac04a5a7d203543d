import { argsDigest } from './call-link.js';
import { InvalidMessageError } from './errors.js';
import { concurrencyKey, TaskConcurrency, TaskOffer } from './task-offer.message.js';

const problems = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidMessageError) return [...err.problems];
    throw err;
  }
  return [];
};

describe(TaskConcurrency.name, () => {
  it('defaults to no control, and refuses unknown scopes and a keys scope without key arguments', () => {
    expect({ ...TaskConcurrency.create() }).toEqual({ registration: 'none', running: 'none', keyArgs: [] });
    expect(problems(() => TaskConcurrency.create({ registration: 'everything' as never }))).toEqual(['registration: must be one of none, task, args, keys']);
    expect(problems(() => TaskConcurrency.create({ running: 'keys' }))).toEqual(['keyArgs: the keys scope needs at least one key argument']);
    expect(problems(() => TaskConcurrency.create({ running: 'keys', keyArgs: ['a.b'] }))[0]).toMatch(/^keyArgs: item \[0\]/);
  });
});

describe(concurrencyKey.name, () => {
  it('names the scope: the task, the task and its arguments, or the task and its key arguments', () => {
    const byTask = TaskConcurrency.create({ registration: 'task', running: 'args' });
    expect(concurrencyKey('reg', 'report', { a: 1 }, byTask)).toBe('reg.report');
    expect(concurrencyKey('run', 'report', { a: 1 }, byTask)).toBe(`run.report.${argsDigest({ a: 1 })}`);
    const byKeys = TaskConcurrency.create({ running: 'keys', keyArgs: ['customer'] });
    expect(concurrencyKey('run', 't', { customer: 7, ms: 1 }, byKeys)).toBe(concurrencyKey('run', 't', { ms: 2, customer: 7 }, byKeys));
    expect(concurrencyKey('run', 't', { customer: 7 }, byKeys)).not.toBe(concurrencyKey('run', 't', { customer: 8 }, byKeys));
    // Not an object, or the key argument missing: all such calls share the key of "no value".
    expect(concurrencyKey('run', 't', 'text', byKeys)).toBe(concurrencyKey('run', 't', {}, byKeys));
    expect(concurrencyKey('reg', 't', { customer: 7 }, byKeys)).toBeUndefined();
    expect(concurrencyKey('reg', 't', {}, undefined)).toBeUndefined();
  });
});

describe(TaskOffer.name, () => {
  it('round-trips with its concurrency controls and refuses a bad one', () => {
    const offer = TaskOffer.create({ task: 'report', worker: 'w1', concurrency: TaskConcurrency.create({ registration: 'keys', keyArgs: ['name'] }) });
    expect(TaskOffer.parse(JSON.stringify(offer))).toEqual(offer);
    expect(TaskOffer.parse({ v: 1, task: 'echo', worker: 'w1', at: offer.at }).concurrency).toBeUndefined();
    expect(problems(() => TaskOffer.parse({ v: 1, task: 'echo', worker: 'w1', at: offer.at, concurrency: { running: 'sometimes' } }))).toEqual([
      'concurrency.running: must be one of none, task, args, keys',
    ]);
  });

  it('carries whether the task is idempotent and its default delivery; an older offer without them reads as absent', () => {
    const offer = TaskOffer.create({ task: 'ping', worker: 'w1', idempotent: true, delivery: 'direct' });
    expect(TaskOffer.parse(JSON.stringify(offer))).toMatchObject({ idempotent: true, delivery: 'direct' });
    const old = TaskOffer.parse({ v: 1, task: 'echo', worker: 'w1', at: offer.at });
    expect([old.idempotent, old.delivery]).toEqual([undefined, undefined]);
    expect(problems(() => TaskOffer.parse({ v: 1, task: 'echo', worker: 'w1', at: offer.at, idempotent: 'yes', delivery: 'fast' }))).toEqual([
      'idempotent: must be a boolean',
      'delivery: must be one of durable, direct',
    ]);
  });
});
