/** Delivery facts JetStream encodes in a message's ack reply subject. */
export interface AckInfo {
  stream: string;
  consumer: string;
  /** How many times this message has been delivered, this time included: the attempt number. */
  deliveryCount: number;
  streamSeq: number;
  pending: number;
}

/**
 * Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` (9 tokens) or the newer form
 * with domain and account hash (`$JS.ACK.<domain>.<acc>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>[.<rand>]`).
 * Returns undefined for anything else (the message is then not a JetStream delivery).
 */
export function parseAckSubject(subject: string | undefined): AckInfo | undefined {
  if (!subject?.startsWith('$JS.ACK.')) return undefined;
  const t = subject.split('.');
  let base: number;
  if (t.length === 9) base = 2;
  else if (t.length === 11 || t.length === 12) base = 4;
  else return undefined;
  const deliveryCount = Number(t[base + 2]);
  const streamSeq = Number(t[base + 3]);
  const pending = Number(t[base + 6]);
  if (!Number.isSafeInteger(deliveryCount) || deliveryCount < 1 || !Number.isSafeInteger(streamSeq)) return undefined;
  return { stream: t[base], consumer: t[base + 1], deliveryCount, streamSeq, pending: Number.isSafeInteger(pending) ? pending : 0 };
}
