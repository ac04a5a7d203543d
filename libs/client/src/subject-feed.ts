import type { NatsConnection } from '@nats-io/transport-node';
import { OverloadedError } from '@taskmesh/protocol';

/** Messages held for a slow reader of a followed subject at most; past it the iteration ends with OverloadedError. */
export const FOLLOW_QUEUE_BOUND = 1_000;

/**
 * The messages of a core subscription to `subject`, read by `parse` (undefined: skipped), until `signal` aborts or
 * the loop breaks; then the subscription ends. Holds at most `bound` unread messages: a reader that falls further
 * behind gets OverloadedError rather than unbounded memory.
 */
export async function* followSubject<T>(
  nc: NatsConnection,
  subject: string,
  parse: (data: Uint8Array) => T | undefined,
  options: { signal?: AbortSignal; bound?: number } = {},
): AsyncGenerator<T, void, undefined> {
  const bound = options.bound ?? FOLLOW_QUEUE_BOUND;
  const queue: T[] = [];
  let overflow = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  const sub = nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err !== null) return;
      const item = parse(msg.data);
      if (item === undefined) return;
      if (queue.length >= bound) overflow = true;
      else queue.push(item);
      notify();
    },
  });
  void sub.closed.then(notify);
  const signal = options.signal;
  signal?.addEventListener('abort', notify, { once: true });
  try {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if (overflow) throw new OverloadedError(`${subject}: the reader fell ${bound} messages behind`, { details: { subject, bound } });
      if (signal?.aborted === true || sub.isClosed()) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    signal?.removeEventListener('abort', notify);
    sub.unsubscribe();
  }
}
