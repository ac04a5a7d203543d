import type { KV } from '@nats-io/kv';
import { invocationIdOfKey, invocationKey } from './kv-keys.js';

/** Cancelled invocation ids (the cancelled bucket, kept 25 h): written by the orchestrator, watched by workers. */
export interface Cancellations {
  cancel(id: string): Promise<void>;
  /** Calls `onCancel` for every id cancelled so far and every one cancelled later, until stopped. */
  watch(onCancel: (id: string) => void, onError?: (err: unknown) => void): Promise<() => void>;
}

/** Cancellations on the JetStream KV bucket declared by the topology. */
export class KvCancellations implements Cancellations {
  constructor(private readonly kv: KV) {}

  async cancel(id: string): Promise<void> {
    await this.kv.put(invocationKey(id), new TextEncoder().encode(new Date().toISOString()));
  }

  async watch(onCancel: (id: string) => void, onError?: (err: unknown) => void): Promise<() => void> {
    const entries = await this.kv.watch({ ignoreDeletes: true });
    void (async () => {
      try {
        for await (const entry of entries) if (entry.operation === 'PUT') onCancel(invocationIdOfKey(entry.key));
      } catch (err) {
        onError?.(err);
      }
    })();
    return () => entries.stop();
  }
}
