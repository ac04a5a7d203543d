import { CallRequest, TaskConcurrency } from '@taskmesh/protocol';
import { goesDirect } from './goes-direct.js';

const call = (fields: Parameters<typeof CallRequest.create>[0] = {}): CallRequest => CallRequest.create(fields);

describe(goesDirect.name, () => {
  it('follows the call\'s delivery, else the task\'s declared one, else durable', () => {
    expect(goesDirect('call', call({ delivery: 'direct' }), undefined)).toBe(true);
    expect(goesDirect('call', call(), undefined)).toBe(false);
    expect(goesDirect('call', call(), { idempotent: true, delivery: 'direct' })).toBe(true);
    expect(goesDirect('call', call({ delivery: 'durable' }), { idempotent: true, delivery: 'direct' })).toBe(false);
    expect(goesDirect('call', call({ delivery: 'direct' }), { idempotent: false, delivery: 'durable' })).toBe(true);
  });

  it('serves durable what needs an invocation record, whatever it asks', () => {
    const direct = { idempotent: true, delivery: 'direct' as const };
    expect(goesDirect('submit', call({ delivery: 'direct' }), direct)).toBe(false);
    expect(goesDirect('call', call({ delivery: 'direct', id: 'order-1' }), direct)).toBe(false);
    expect(goesDirect('call', call({ delivery: 'direct', chain: [{ id: 'p', task: 'fanout', digest: 'a'.repeat(24) }] }), direct)).toBe(false);
    expect(goesDirect('call', call({ delivery: 'direct', dispatch: { id: 'd1', occurrence: '2030-01-01T00:00:00.000Z', dryRun: false } }), direct)).toBe(false);
    expect(goesDirect('call', call({ delivery: 'direct' }), { ...direct, concurrency: TaskConcurrency.create({ running: 'task' }) })).toBe(false);
    expect(goesDirect('call', call({ delivery: 'direct' }), { ...direct, concurrency: TaskConcurrency.create({ registration: 'args' }) })).toBe(false);
    expect(goesDirect('call', call({ delivery: 'direct' }), { ...direct, concurrency: TaskConcurrency.create() })).toBe(true);
  });
});
