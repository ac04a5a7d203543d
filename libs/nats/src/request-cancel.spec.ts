import { RequestError, RequestOne } from '@nats-io/nats-core/internal';
import { installRequestCancelFix } from './request-cancel.js';

describe(installRequestCancelFix.name, () => {
  it('is in place on the pinned nats.js, and idempotent', () => {
    expect(installRequestCancelFix()).toBe(true);
    expect(installRequestCancelFix()).toBe(true);
  });

  it('still settles a request like nats.js did: an error given is the rejection, none gives RequestError "cancelled"', async () => {
    installRequestCancelFix();
    const muxed: unknown[] = [];
    const mux = { cancel: (r: unknown) => muxed.push(r) } as unknown as ConstructorParameters<typeof RequestOne>[0];
    const plain = new RequestOne(mux, 'subject', { timeout: 10_000 }, false);
    plain.cancel();
    const reason = await plain.deferred.catch((e: unknown) => e);
    expect(reason).toBeInstanceOf(RequestError);
    expect((reason as Error).message).toBe('cancelled');
    // The fix: one shared error, not a new one (with its stack trace) per request.
    const again = new RequestOne(mux, 'subject', { timeout: 10_000 }, false);
    again.cancel();
    expect(await again.deferred.catch((e: unknown) => e)).toBe(reason);
    const failed = new RequestOne(mux, 'subject', { timeout: 10_000 }, false);
    const boom = new Error('boom');
    failed.cancel(boom);
    expect(await failed.deferred.catch((e: unknown) => e)).toBe(boom);
    // Both were taken off the mux, and their timers stopped (a live one would keep jest open).
    expect(muxed).toEqual([plain, again, failed]);
  });
});
