import type { KV } from '@nats-io/kv';
import { isWrongRevision } from './errors.js';

/** A leader lease as stored: who holds it, until when (epoch ms, by the holder's clock). */
export interface Lease {
  holder: string;
  until: number;
}

/** What a replica does about a lease at `now` (pure). */
export type LeaseStep = 'create' | 'renew' | 'take-over' | 'follow';

/** The lease is free (create), ours (renew), expired (take over), or someone else's (follow). */
export function leaseStep(current: Lease | undefined, me: string, now: number): LeaseStep {
  if (current === undefined) return 'create';
  if (current.holder === me) return 'renew';
  return current.until < now ? 'take-over' : 'follow';
}

/**
 * One leader lease in the leases bucket (key = the lease's name). Every step is revision-checked, so two replicas
 * never both win: KV create for a free lease, KV update at the revision read for renewing or taking over.
 * Replicas' clocks are assumed close (within a fraction of the lease time).
 */
export class KvLease {
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly kv: KV,
    private readonly name: string,
  ) {}

  /** Runs one step for `me` with lease time `ttlMs`; resolves whether `me` leads now. */
  async step(me: string, ttlMs: number, now = Date.now()): Promise<boolean> {
    const entry = await this.kv.get(this.name);
    const current = entry?.operation === 'PUT' && entry.value.length > 0 ? this.read(entry.value) : undefined;
    const mine = this.encoder.encode(JSON.stringify({ holder: me, until: now + ttlMs } satisfies Lease));
    try {
      switch (leaseStep(current, me, now)) {
        case 'create':
          if (entry) await this.kv.update(this.name, mine, entry.revision); // deleted or unreadable: at its revision
          else await this.kv.create(this.name, mine);
          return true;
        case 'renew':
        case 'take-over':
          await this.kv.update(this.name, mine, entry!.revision);
          return true;
        case 'follow':
          return false;
      }
    } catch (err) {
      if (isWrongRevision(err)) return false; // another replica moved first
      throw err;
    }
  }

  /** Gives the lease up if `me` holds it (a clean shutdown: the next leader need not wait for it to expire). */
  async release(me: string): Promise<void> {
    const entry = await this.kv.get(this.name);
    if (entry?.operation !== 'PUT' || this.read(entry.value)?.holder !== me) return;
    await this.kv.delete(this.name, { previousSeq: entry.revision }).catch(() => undefined);
  }

  private read(value: Uint8Array): Lease | undefined {
    try {
      const lease = JSON.parse(this.decoder.decode(value)) as Lease;
      return typeof lease.holder === 'string' && Number.isFinite(lease.until) ? lease : undefined;
    } catch {
      return undefined;
    }
  }
}
