import type { KV } from '@nats-io/kv';
import { removeKey } from './bucket-keys.js';
import { isWrongRevision } from './errors.js';

/** Who holds a concurrency claim. */
export interface Claim {
  /** The invocation holding it. */
  id: string;
  /** Running claims: the attempt that holds it (a newer attempt of the same invocation may take it over). */
  attempt?: number;
  /** Running claims: the worker running it. */
  worker?: string;
  /** When it was claimed (ISO-8601). */
  at: string;
}

/** A claim as stored, with the revision to take it over at. */
export interface HeldClaim {
  claim: Claim;
  revision: number;
}

/**
 * Concurrency claims (the claims bucket, key = `concurrencyKey(...)`): at most one invocation holds a key.
 * Registration keys name the live invocation that new calls reuse; running keys name the one allowed to run.
 * A claim is released when its invocation ends; one whose holder ended without releasing it (a crash) is found
 * stale by the next claimant, who checks the holder's record and takes the key over at its revision.
 */
export interface ConcurrencyClaims {
  /** Claims `key` for `claim.id`: undefined when now held by it, else the current holder. */
  claim(key: string, claim: Claim): Promise<HeldClaim | undefined>;
  /** Replaces a stale holder, if the key is still at `revision`; false when someone else moved first. */
  takeOver(key: string, claim: Claim, revision: number): Promise<boolean>;
  /** The current holder, if any. */
  holder(key: string): Promise<HeldClaim | undefined>;
  /** Releases `key` if `id` still holds it (a claim taken over by someone else is left alone). */
  release(key: string, id: string): Promise<void>;
}

/** Attempts at "create, else read the holder" before giving up (the holder released in between each time). */
const MAX_CLAIM_ROUNDS = 5;

/** ConcurrencyClaims on the JetStream KV bucket declared by the topology. */
export class KvConcurrencyClaims implements ConcurrencyClaims {
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  constructor(private readonly kv: KV) {}

  async claim(key: string, claim: Claim): Promise<HeldClaim | undefined> {
    for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
      try {
        await this.kv.create(key, this.encode(claim));
        return undefined;
      } catch (err) {
        if (!isWrongRevision(err)) throw err;
      }
      const held = await this.holder(key);
      if (held) return held;
    }
    throw new Error(`claim ${key}: released and re-taken ${MAX_CLAIM_ROUNDS} times in a row`);
  }

  async takeOver(key: string, claim: Claim, revision: number): Promise<boolean> {
    try {
      await this.kv.update(key, this.encode(claim), revision);
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }

  async holder(key: string): Promise<HeldClaim | undefined> {
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return undefined;
    return { claim: JSON.parse(this.decoder.decode(entry.value)) as Claim, revision: entry.revision };
  }

  async release(key: string, id: string): Promise<void> {
    const held = await this.holder(key);
    if (held?.claim.id !== id) return;
    await removeKey(this.kv, key, held.revision); // taken over meanwhile: the newer claim stays
  }

  private encode(claim: Claim): Uint8Array {
    return this.encoder.encode(JSON.stringify(claim));
  }
}
