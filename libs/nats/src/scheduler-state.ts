import type { KV } from '@nats-io/kv';
import { isWrongRevision } from './dispatch-store.js';

/** The leader lease as stored (key `leader`): who holds it. Expiry is judged by each observer on its own clock. */
export interface LeaseValue {
  holder: string;
  /** When the holder last renewed it (its own clock; informative). */
  renewedAt: string;
}

/** The lease as read: its value and the revision that identifies this renewal. */
export interface LeaseRecord {
  value: LeaseValue;
  revision: number;
}

/**
 * The scheduler's own state (the scheduler bucket): the leader lease, and per dispatch the last occurrence fired
 * (key `fired.<dispatchId>`, epoch ms), so misfire policies work after a restart or a takeover.
 */
export interface SchedulerState {
  /** The current lease, if any. */
  readLease(): Promise<LeaseRecord | undefined>;
  /** Creates the lease; the new revision, or undefined when someone holds it already. */
  createLease(value: LeaseValue): Promise<number | undefined>;
  /** Renews or takes over the lease at `revision`; the new revision, or undefined when it changed meanwhile. */
  updateLease(value: LeaseValue, revision: number): Promise<number | undefined>;
  /** Gives the lease up if it is still at `revision` (a clean stop: the next replica takes over at once). */
  releaseLease(revision: number): Promise<void>;
  /** The last fired occurrence of every dispatch. */
  firedMarks(): Promise<Map<string, number>>;
  /** Records that `occurrence` of `dispatchId` was fired (only ever moves forward for one writer: the leader). */
  markFired(dispatchId: string, occurrence: number): Promise<void>;
  /** Drops the mark of a deleted dispatch. */
  forget(dispatchId: string): Promise<void>;
}

const LEASE_KEY = 'leader';
const FIRED_PREFIX = 'fired.';

/** SchedulerState on the JetStream KV bucket declared by the topology. */
export class KvSchedulerState implements SchedulerState {
  private readonly encoder = new TextEncoder();

  constructor(private readonly kv: KV) {}

  async readLease(): Promise<LeaseRecord | undefined> {
    const entry = await this.kv.get(LEASE_KEY);
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    try {
      return { value: entry.json<LeaseValue>(), revision: entry.revision };
    } catch {
      return { value: { holder: '?', renewedAt: '' }, revision: entry.revision };
    }
  }

  async createLease(value: LeaseValue): Promise<number | undefined> {
    try {
      return await this.kv.create(LEASE_KEY, this.encoder.encode(JSON.stringify(value)));
    } catch (err) {
      if (isWrongRevision(err)) return undefined;
      throw err;
    }
  }

  async updateLease(value: LeaseValue, revision: number): Promise<number | undefined> {
    try {
      return await this.kv.update(LEASE_KEY, this.encoder.encode(JSON.stringify(value)), revision);
    } catch (err) {
      if (isWrongRevision(err)) return undefined;
      throw err;
    }
  }

  async releaseLease(revision: number): Promise<void> {
    try {
      await this.kv.delete(LEASE_KEY, { previousSeq: revision });
    } catch (err) {
      if (!isWrongRevision(err)) throw err;
    }
  }

  async firedMarks(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const keys: string[] = [];
    for await (const key of await this.kv.keys(`${FIRED_PREFIX}>`)) keys.push(key);
    for (const key of keys) {
      const entry = await this.kv.get(key);
      if (!entry || entry.operation !== 'PUT') continue;
      const ms = Number(entry.string());
      if (Number.isSafeInteger(ms)) out.set(key.slice(FIRED_PREFIX.length), ms);
    }
    return out;
  }

  async markFired(dispatchId: string, occurrence: number): Promise<void> {
    await this.kv.put(`${FIRED_PREFIX}${dispatchId}`, this.encoder.encode(String(occurrence)));
  }

  async forget(dispatchId: string): Promise<void> {
    await this.kv.purge(`${FIRED_PREFIX}${dispatchId}`);
  }
}
