import type { KV } from '@nats-io/kv';
import { bucketKeys, scanBucket } from './bucket-keys.js';
import type { DispatchRecord } from '@taskmesh/protocol';
import { isWrongRevision } from './errors.js';

/** A stored dispatch and the revision to update it against. */
export interface StoredDispatch {
  record: DispatchRecord;
  revision: number;
}

/** The dispatches (the dispatches bucket, key = id): create-once, revision-checked updates, watchable. */
export interface DispatchStore {
  /** Stores a new dispatch; false when the id exists already. */
  create(record: DispatchRecord): Promise<boolean>;
  get(id: string): Promise<StoredDispatch | undefined>;
  /** Replaces it if still at `revision`; false when someone else wrote first. */
  update(record: DispatchRecord, revision: number): Promise<boolean>;
  /** Deletes it if still at `revision`; false when someone else wrote first. */
  delete(id: string, revision: number): Promise<boolean>;
  /** Every dispatch, at most `limit` (one created or deleted meanwhile may or may not be in it). */
  list(limit: number): Promise<DispatchRecord[]>;
  /** How many dispatches exist, counting at most up to `limit` (records are read only near the bound). */
  count(limit: number): Promise<number>;
  /**
   * Calls `onChange` with every dispatch stored now, then every change (a record, or `undefined` for a delete),
   * until stopped. Unreadable entries go to `onInvalid`.
   */
  watch(handlers: {
    onChange: (id: string, record: DispatchRecord | undefined) => void;
    onInvalid?: (id: string, err: unknown) => void;
    onError?: (err: unknown) => void;
  }): Promise<() => void>;
}

/** DispatchStore on the JetStream KV bucket declared by the topology. */
export class KvDispatchStore implements DispatchStore {
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  constructor(private readonly kv: KV) {}

  async create(record: DispatchRecord): Promise<boolean> {
    try {
      await this.kv.create(record.id, this.encode(record));
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }

  async get(id: string): Promise<StoredDispatch | undefined> {
    const entry = await this.kv.get(id);
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    return { record: this.decode(entry.value), revision: entry.revision };
  }

  async update(record: DispatchRecord, revision: number): Promise<boolean> {
    try {
      await this.kv.update(record.id, this.encode(record), revision);
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }

  async delete(id: string, revision: number): Promise<boolean> {
    try {
      await this.kv.delete(id, { previousSeq: revision });
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }

  async count(limit: number): Promise<number> {
    const keys = await bucketKeys(this.kv);
    // The index also holds deleted keys (their markers): only near the bound is it worth reading them to be exact.
    if (keys.length < limit) return keys.length;
    return (await this.list(limit)).length;
  }

  async list(limit: number): Promise<DispatchRecord[]> {
    const out: DispatchRecord[] = [];
    await scanBucket(this.kv, (entry) => {
      try {
        out.push(this.decode(entry.value));
      } catch {
        // Unreadable: not a dispatch (the watch reports it).
      }
      return out.length < limit;
    });
    return out;
  }

  async watch(handlers: Parameters<DispatchStore['watch']>[0]): Promise<() => void> {
    const entries = await this.kv.watch();
    void (async () => {
      try {
        for await (const entry of entries) {
          if (entry.operation !== 'PUT') {
            handlers.onChange(entry.key, undefined);
            continue;
          }
          let record: DispatchRecord;
          try {
            record = this.decode(entry.value);
          } catch (err) {
            handlers.onInvalid?.(entry.key, err);
            continue;
          }
          handlers.onChange(entry.key, record);
        }
      } catch (err) {
        handlers.onError?.(err);
      }
    })();
    return () => entries.stop();
  }

  private encode(record: DispatchRecord): Uint8Array {
    return this.encoder.encode(JSON.stringify(record));
  }

  private decode(value: Uint8Array): DispatchRecord {
    const record = JSON.parse(this.decoder.decode(value)) as DispatchRecord;
    if (typeof record !== 'object' || record === null || typeof record.id !== 'string' || typeof record.task !== 'string') throw new Error('not a dispatch');
    return record;
  }
}
