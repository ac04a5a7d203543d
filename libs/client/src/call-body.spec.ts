import { defineTask } from '@taskmesh/protocol';
import { callBody, callReplyTimeoutMs, chosenId, deliveryOf, RECOVERY_ALLOWANCE_MS, START_REPORT_GRACE_MS, taskName } from './call-body.js';

describe(callBody.name, () => {
  it('writes the call body of PROTOCOL 4.1, leaving absent fields out and undefined args as null', () => {
    expect(JSON.parse(callBody(undefined, { timeoutMs: 100 }))).toEqual({ args: null, timeoutMs: 100 });
    expect(JSON.parse(callBody({ a: 1 }, { timeoutMs: 5, id: 'x', key: 'k', delivery: 'direct' }))).toEqual({ args: { a: 1 }, timeoutMs: 5, id: 'x', key: 'k', delivery: 'direct' });
  });

  it('refuses args that cannot be JSON, and a timeoutMs out of range, with BAD_REQUEST', () => {
    expect(() => callBody({ n: 1n }, { timeoutMs: 5 })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringMatching(/args: cannot be JSON/) }));
    for (const timeoutMs of [0, Number.NaN, 1.5, 86_400_001]) {
      expect(() => callBody(null, { timeoutMs })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringMatching(/timeoutMs: must be an integer/) }));
    }
  });
});

describe(callReplyTimeoutMs.name, () => {
  it('waits past the start deadline for a started invocation: as long again, at least the recovery allowance', () => {
    expect(callReplyTimeoutMs(30_000)).toBe(30_000 + START_REPORT_GRACE_MS + RECOVERY_ALLOWANCE_MS);
    expect(callReplyTimeoutMs(100)).toBe(100 + START_REPORT_GRACE_MS + RECOVERY_ALLOWANCE_MS);
    expect(callReplyTimeoutMs(600_000)).toBe(1_200_000 + START_REPORT_GRACE_MS);
  });
});

describe(chosenId.name, () => {
  const signal = new AbortController().signal;
  it('keeps the caller\'s id, chooses one in the router\'s form only for a cancellable call (signal, not direct)', () => {
    expect(chosenId({ id: 'mine' }, undefined)).toBe('mine');
    expect(chosenId({}, undefined)).toBeUndefined();
    expect(chosenId({ signal }, undefined)).toMatch(/^inv-[0-9A-Za-z]{22}$/);
    expect(chosenId({ signal }, 'durable')).toMatch(/^inv-/);
    expect(chosenId({ signal }, 'direct')).toBeUndefined();
  });
});

describe(deliveryOf.name, () => {
  it('takes the option, else the definition\'s declared delivery', () => {
    const ping = defineTask('ping', undefined, { delivery: 'direct' });
    expect(deliveryOf(ping, {})).toBe('direct');
    expect(deliveryOf(ping, { delivery: 'durable' })).toBe('durable');
    expect(deliveryOf('ping', {})).toBeUndefined();
    expect(taskName(ping)).toBe('ping');
  });
});
