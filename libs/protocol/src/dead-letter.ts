import type { JsonValue } from './json.js';

/**
 * One dead letter as `mesh.deadletters.list` answers it (docs/PROTOCOL.md 4.7): where it came from and why, from its
 * headers (a field is absent when its header was), and the original body (parsed JSON when it is JSON, else text).
 */
export interface DeadLetterView {
  seq: number;
  task: string;
  reason: string;
  fromStream?: string;
  fromSeq?: number;
  deliveries?: number;
  at?: string;
  body: JsonValue;
}

/** A dead letter `mesh.deadletters.redrive` did not put back, and why. */
export interface RedriveSkip {
  /** The invocation id, or `seq:<n>` for a dead letter that carries no readable invocation. */
  id: string;
  reason: string;
}

/** The reply of `mesh.deadletters.redrive` (docs/PROTOCOL.md section 4.12). */
export interface RedriveReply {
  /** Invocation ids put back on the work queue by this request. */
  redriven: string[];
  skipped: RedriveSkip[];
  /** True when the bound on one request was reached: ask again for the rest. */
  more?: boolean;
}

/**
 * The eventType of the EVENT a redrive stores in the invocation's events (after its final FAILURE): followers of
 * the events read on past that FAILURE when this follows it. Details: `{ deadLetterSeq, afterAttempt, count }`.
 */
export const REDRIVEN_EVENT = 'redriven';
