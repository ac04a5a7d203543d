import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { KvWatchInclude, type KV } from '@nats-io/kv';
import { DispatchMessage } from '#protocol';

/** A stored dispatch and the revision to update it against. */
export interface StoredDispatch {
  dispatch: DispatchMessage;
  revision: number;
}

/** One change seen by a watch: a dispatch written, or deleted. */
export type DispatchChange = { op: 'put'; dispatch: DispatchMessage } | { op: 'delete'; id: string };

/**
 * The dispatches (the dispatches bucket, key = id): create-once, revision-checked updates. Entries that do not
 * parse as a dispatch are skipped by readers (and reported through `onInvalid`), never thrown at them.
 */
export interface DispatchStore {
  /** Stores a new dispatch; false when the id exists already. */
  create(dispatch: DispatchMessage): Promise<boolean>;
  get(id: string): Promise<StoredDispatch | undefined>;
  /** Replaces the dispatch if it is still at `revision`; false when someone else wrote it first. */
  update(dispatch: DispatchMessage, revision: number): Promise<boolean>;
  /** Deletes it; false when there was none. */
  delete(id: string): Promise<boolean>;
  /** Every stored dispatch, at most `limit`, by id. */
  list(limit: number): Promise<DispatchMessage[]>;
  /** How many keys the bucket holds (a bound check, not a consistent count). */
  count(): Promise<number>;
  /**
   * Calls `onChange` for every change made after the call (no initial values: read them with list() after this
   * resolves, so nothing falls between the two), until the returned stop function is called. `onEnd` hears a
   * watch that ended without being stopped (lost connection, deleted bucket).
   */
  watch(onChange: (change: DispatchChange) => void, onEnd?: (err?: unknown) => void): Promise<() => void>;
}

/** DispatchStore on the JetStream KV bucket declared by the topology. */
export class KvDispatchStore implements DispatchStore {
  private readonly encoder = new TextEncoder();

  constructor(
    private readonly kv: KV,
    private readonly onInvalid: (key: string, err: unknown) => void = () => undefined,
  ) {}

  async create(dispatch: DispatchMessage): Promise<boolean> {
    try {
      await this.kv.create(dispatch.id, this.encode(dispatch));
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }

  async get(id: string): Promise<StoredDispatch | undefined> {
    const entry = await this.kv.get(id);
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    const dispatch = this.decode(entry.key, entry.value);
    return dispatch ? { dispatch, revision: entry.revision } : undefined;
  }

  async update(dispatch: DispatchMessage, revision: number): Promise<boolean> {
    try {
      await this.kv.update(dispatch.id, this.encode(dispatch), revision);
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }

  async delete(id: string): Promise<boolean> {
    const entry = await this.kv.get(id);
    if (!entry || entry.operation !== 'PUT') return false;
    await this.kv.delete(id);
    return true;
  }

  async list(limit: number): Promise<DispatchMessage[]> {
    const keys: string[] = [];
    const iter = await this.kv.keys();
    for await (const key of iter) keys.push(key);
    keys.sort();
    const out: DispatchMessage[] = [];
    for (const key of keys) {
      if (out.length >= limit) break;
      const stored = await this.get(key);
      if (stored) out.push(stored.dispatch);
    }
    return out;
  }

  async count(): Promise<number> {
    return (await this.kv.status()).values;
  }

  async watch(onChange: (change: DispatchChange) => void, onEnd?: (err?: unknown) => void): Promise<() => void> {
    const entries = await this.kv.watch({ include: KvWatchInclude.UpdatesOnly });
    let stopped = false;
    void (async () => {
      try {
        for await (const entry of entries) {
          if (entry.operation !== 'PUT') {
            onChange({ op: 'delete', id: entry.key });
            continue;
          }
          const dispatch = this.decode(entry.key, entry.value);
          if (dispatch) onChange({ op: 'put', dispatch });
        }
        if (!stopped) onEnd?.();
      } catch (err) {
        if (!stopped) onEnd?.(err);
      }
    })();
    return () => {
      stopped = true;
      entries.stop();
    };
  }

  private encode(dispatch: DispatchMessage): Uint8Array {
    return this.encoder.encode(JSON.stringify(dispatch));
  }

  private decode(key: string, value: Uint8Array): DispatchMessage | undefined {
    try {
      return DispatchMessage.parse(value);
    } catch (err) {
      this.onInvalid(key, err);
      return undefined;
    }
  }
}

/** KV create/update lost the race: the key exists, or was written at another revision. */
export function isWrongRevision(err: unknown): boolean {
  return err instanceof JetStreamApiError
    && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}
