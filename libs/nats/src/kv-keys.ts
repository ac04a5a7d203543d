/**
 * Invocation ids as KV keys. Ids may contain `:` (`dispatch:<id>:<epoch ms>`), which KV keys may not, and never
 * contain `=`, which keys may: so `:` is stored as `=`, one to one.
 */
export function invocationKey(id: string): string {
  return id.replaceAll(':', '=');
}

/** The invocation id a key of the invocations or cancellations bucket stands for. */
export function invocationIdOfKey(key: string): string {
  return key.replaceAll('=', ':');
}
