import type { KV } from '@nats-io/kv';

/** What a worker writes when it offers a task (last writer wins: the key's presence is what matters). */
export interface TaskOffer {
  v: 1;
  task: string;
  worker: string;
  /** ISO-8601 instant of the offer. */
  at: string;
}

/**
 * Every task ever offered (the tasks bucket), so any router replica answers UNKNOWN_TASK only for a task no
 * worker has ever offered, even right after it starts.
 */
export interface TaskCatalog {
  /** Records that `worker` offers `task`. */
  offer(task: string, worker: string): Promise<void>;
  /** The tasks offered so far. */
  keys(): Promise<string[]>;
  /**
   * Calls `onKey` for every task already offered and every one offered later, until the returned stop function
   * is called or the connection closes. `onError` hears a watch that broke.
   */
  watchKeys(onKey: (task: string) => void, onError?: (err: unknown) => void): Promise<() => void>;
}

/** TaskCatalog on the JetStream KV bucket declared by the topology. */
export class KvTaskCatalog implements TaskCatalog {
  private readonly encoder = new TextEncoder();

  constructor(private readonly kv: KV) {}

  async offer(task: string, worker: string): Promise<void> {
    const offer: TaskOffer = { v: 1, task, worker, at: new Date().toISOString() };
    await this.kv.put(task, this.encoder.encode(JSON.stringify(offer)));
  }

  async keys(): Promise<string[]> {
    const out: string[] = [];
    // Bounded by the bucket, whose size the topology bounds.
    for await (const key of await this.kv.keys()) out.push(key);
    return out;
  }

  async watchKeys(onKey: (task: string) => void, onError?: (err: unknown) => void): Promise<() => void> {
    // Default include = last value of every key, then updates: no gap between "what exists" and "what comes".
    const entries = await this.kv.watch({ ignoreDeletes: true });
    void (async () => {
      try {
        for await (const entry of entries) if (entry.operation === 'PUT') onKey(entry.key);
      } catch (err) {
        onError?.(err);
      }
    })();
    return () => entries.stop();
  }
}
