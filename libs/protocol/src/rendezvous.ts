/**
 * Rendezvous (highest random weight) hashing: every party that knows the same candidates picks the same owner for a
 * key, with no coordination, and when a candidate joins or leaves only the keys it wins or held move (dp3's
 * "hash of the entity key picks one worker"). The router uses it to place direct calls by key, workers to decide
 * which key shards they pull. Pure and deterministic across processes and versions of Node.
 */

/** 32-bit FNV-1a of a string's UTF-16 code units, finished with murmur3's avalanche so nearby inputs spread. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The candidate that owns `key`: the one with the highest hash of (key, candidate); undefined when there is none. */
export function rendezvousOwner(key: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const candidate of candidates) {
    const weight = hash32(`${key}\u0000${candidate}`);
    // Ties (vanishingly rare) go to the smaller name, so every party still agrees.
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && candidate < best)) {
      best = candidate;
      bestWeight = weight;
    }
  }
  return best;
}

/** The shard (0..shards-1) of an ordering key. */
export function keyShard(key: string, shards: number): number {
  if (!(Number.isInteger(shards) && shards >= 1)) throw new RangeError(`shards must be a positive integer, got ${shards}`);
  return hash32(key) % shards;
}
