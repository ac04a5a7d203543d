/**
 * A fixed table of subjects in shared memory: the main thread adds and removes them, the heartbeat thread reads
 * them whenever it wants, with no message between the threads. Each slot is guarded by a sequence number (odd while
 * the main thread writes it), so a reader that raced a write skips that slot this time and sees it next time.
 * The held messages' ack subjects change with every call, and a postMessage per change cost the worker about as
 * much CPU as a call's own NATS messages.
 */
export class SharedSubjects {
  /** Per slot: [sequence, byte length]; length 0 = free. */
  private readonly meta: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly free: number[] = [];
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  /** The buffer to hand to the other thread (`new SharedSubjects(buffer)` there). */
  readonly buffer: SharedArrayBuffer;
  readonly slots: number;
  readonly slotBytes: number;

  /** A new table (`slots` subjects of at most `slotBytes` bytes each), or a view of an existing one's `buffer`. */
  constructor(init: { slots: number; slotBytes: number } | { buffer: SharedArrayBuffer; slots: number; slotBytes: number }) {
    this.slots = init.slots;
    this.slotBytes = init.slotBytes;
    this.buffer = 'buffer' in init ? init.buffer : new SharedArrayBuffer(init.slots * (8 + init.slotBytes));
    this.meta = new Int32Array(this.buffer, 0, 2 * init.slots);
    this.bytes = new Uint8Array(this.buffer, 8 * init.slots, init.slots * init.slotBytes);
    for (let slot = init.slots - 1; slot >= 0; slot--) if (Atomics.load(this.meta, 2 * slot + 1) === 0) this.free.push(slot);
  }

  /** Writer: stores `subject`; its slot, or undefined when the table is full or the subject does not fit. */
  add(subject: string): number | undefined {
    const slot = this.free.pop();
    if (slot === undefined) return undefined;
    const at = slot * this.slotBytes;
    Atomics.add(this.meta, 2 * slot, 1);
    const { read, written } = this.encoder.encodeInto(subject, this.bytes.subarray(at, at + this.slotBytes));
    const fits = read === subject.length && written > 0;
    Atomics.store(this.meta, 2 * slot + 1, fits ? written : 0);
    Atomics.add(this.meta, 2 * slot, 1);
    if (fits) return slot;
    this.free.push(slot);
    return undefined;
  }

  /** Writer: frees the slot `add` returned. */
  remove(slot: number): void {
    Atomics.add(this.meta, 2 * slot, 1);
    Atomics.store(this.meta, 2 * slot + 1, 0);
    Atomics.add(this.meta, 2 * slot, 1);
    this.free.push(slot);
  }

  /** Reader: every subject stored now (a slot being rewritten at this very moment is skipped). */
  forEach(visit: (subject: string) => void): void {
    for (let slot = 0; slot < this.slots; slot++) {
      const before = Atomics.load(this.meta, 2 * slot);
      if (before % 2 === 1) continue;
      const length = Atomics.load(this.meta, 2 * slot + 1);
      if (length === 0) continue;
      const at = slot * this.slotBytes;
      const copy = this.bytes.slice(at, at + length);
      if (Atomics.load(this.meta, 2 * slot) !== before) continue;
      visit(this.decoder.decode(copy));
    }
  }
}
