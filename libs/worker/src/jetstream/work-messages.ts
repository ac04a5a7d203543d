import type { PulledMessage } from './work-puller.js';

/**
 * The messages this worker holds, by the small integer `ref` the core knows them by. Bounded by construction:
 * the core never reserves more pulls than free slots, and every ref is released when its message is settled.
 */
export class WorkMessages {
  private next = 1;
  private readonly held = new Map<number, PulledMessage>();

  /** `watch` hears of every message held and released (the heartbeat thread keeps held ones alive). */
  constructor(private readonly watch?: { held(m: PulledMessage): void; released(m: PulledMessage): void }) {}

  hold(m: PulledMessage): number {
    const ref = this.next++;
    this.held.set(ref, m);
    this.watch?.held(m);
    return ref;
  }

  /** A ref for work that has no JetStream message to settle (a direct request): settling it does nothing. */
  reserve(): number {
    return this.next++;
  }

  get(ref: number): PulledMessage | undefined {
    return this.held.get(ref);
  }

  /** Forgets the message (after ack / nak / term) and returns it. */
  release(ref: number): PulledMessage | undefined {
    const m = this.held.get(ref);
    if (!m) return undefined;
    this.held.delete(ref);
    this.watch?.released(m);
    return m;
  }

  get size(): number {
    return this.held.size;
  }
}
