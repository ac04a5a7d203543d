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
