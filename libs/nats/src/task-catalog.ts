import type { KV } from '@nats-io/kv';
import { bucketKeys } from './bucket-keys.js';
import { TaskOffer, type Delivery, type TaskConcurrency } from '@taskmesh/protocol';

/** What a task declares about its delivery, published with its offer. */
export interface OfferTraits {
  idempotent?: boolean;
  delivery?: Delivery;
}

/**
 * Every task ever offered (the tasks bucket, key = task, the last offer wins), so any router replica answers
 * UNKNOWN_TASK only for a task no worker has ever offered, even right after it starts, and knows each task's
 * concurrency controls.
 */
export interface TaskCatalog {
  /** Records that `worker` offers `task`, with the task's concurrency controls and how its calls are delivered. */
  offer(task: string, worker: string, concurrency?: TaskConcurrency, traits?: OfferTraits): Promise<void>;
  /** The tasks offered so far. */
  keys(): Promise<string[]>;
  /** The last offer of every task offered so far (entries that are not valid offers are left out). */
  offers(): Promise<TaskOffer[]>;
  /**
   * Calls `onOffer` with the last offer of every task already offered and every offer made later, until the
   * returned stop function is called or the connection closes. An entry that is not a valid offer (written by
   * something else) goes to `onInvalid` with its key; `onError` hears a watch that broke.
   */
  watch(onOffer: (offer: TaskOffer) => void, handlers?: { onInvalid?: (task: string, err: unknown) => void; onError?: (err: unknown) => void }): Promise<() => void>;
}

/** TaskCatalog on the JetStream KV bucket declared by the topology. */
export class KvTaskCatalog implements TaskCatalog {
  private readonly encoder = new TextEncoder();

  constructor(private readonly kv: KV) {}

  async offer(task: string, worker: string, concurrency?: TaskConcurrency, traits: OfferTraits = {}): Promise<void> {
    const offer = TaskOffer.create({ task, worker, ...(concurrency ? { concurrency } : {}), ...traits });
    await this.kv.put(task, this.encoder.encode(JSON.stringify(offer)));
  }

  async keys(): Promise<string[]> {
    // Bounded by the bucket, whose size the topology bounds. Task offers are never deleted; bucketKeys, not
    // kv.keys(), which can stall for seconds while workers are offering.
    return bucketKeys(this.kv);
  }

  async offers(): Promise<TaskOffer[]> {
    const out: TaskOffer[] = [];
    for (const key of await this.keys()) {
      const entry = await this.kv.get(key);
      if (entry?.operation !== 'PUT') continue;
      try {
        out.push(TaskOffer.parse(entry.value));
      } catch {
        // Not an offer: the watch reports it.
      }
    }
    return out;
  }

  async watch(onOffer: (offer: TaskOffer) => void, handlers: { onInvalid?: (task: string, err: unknown) => void; onError?: (err: unknown) => void } = {}): Promise<() => void> {
    // Default include = last value of every key, then updates: no gap between "what exists" and "what comes".
    const entries = await this.kv.watch({ ignoreDeletes: true });
    void (async () => {
      try {
        for await (const entry of entries) {
          if (entry.operation !== 'PUT') continue;
          let offer: TaskOffer;
          try {
            offer = TaskOffer.parse(entry.value);
          } catch (err) {
            handlers.onInvalid?.(entry.key, err);
            continue;
          }
          onOffer(offer);
        }
      } catch (err) {
        handlers.onError?.(err);
      }
    })();
    return () => entries.stop();
  }
}
