import { SharedSubjects } from './shared-subjects.js';

const read = (t: SharedSubjects): string[] => {
  const out: string[] = [];
  t.forEach((s) => out.push(s));
  return out.sort();
};

describe(SharedSubjects.name, () => {
  it('shows what was added and not removed, through a second view of the same buffer', () => {
    const writer = new SharedSubjects({ slots: 4, slotBytes: 64 });
    const reader = new SharedSubjects({ buffer: writer.buffer, slots: 4, slotBytes: 64 });
    const a = writer.add('$JS.ACK.S.c.1.1.1.1.0')!;
    writer.add('$JS.ACK.S.c.1.2.2.1.0');
    expect(read(reader)).toEqual(['$JS.ACK.S.c.1.1.1.1.0', '$JS.ACK.S.c.1.2.2.1.0']);
    writer.remove(a);
    expect(read(reader)).toEqual(['$JS.ACK.S.c.1.2.2.1.0']);
  });

  it('reuses freed slots, and says when it is full', () => {
    const t = new SharedSubjects({ slots: 2, slotBytes: 16 });
    const a = t.add('a')!;
    expect(t.add('b')).toBeDefined();
    expect(t.add('c')).toBeUndefined();
    t.remove(a);
    expect(t.add('d')).toBe(a);
    expect(read(t)).toEqual(['b', 'd']);
  });

  it('refuses a subject that does not fit its slot, and keeps the slot free', () => {
    const t = new SharedSubjects({ slots: 1, slotBytes: 8 });
    expect(t.add('123456789')).toBeUndefined();
    expect(t.add('ünïcødé!')).toBeUndefined(); // 8 characters, more than 8 bytes
    expect(read(t)).toEqual([]);
    expect(t.add('12345678')).toBe(0);
    expect(read(t)).toEqual(['12345678']);
  });

  it('a shorter subject in a reused slot is read at its own length', () => {
    const t = new SharedSubjects({ slots: 1, slotBytes: 32 });
    t.remove(t.add('a-much-longer-subject')!);
    t.add('short');
    expect(read(t)).toEqual(['short']);
  });

  it('a reader skips a slot that is being written, and never sees a torn subject', () => {
    const t = new SharedSubjects({ slots: 1, slotBytes: 32 });
    const meta = new Int32Array(t.buffer, 0, 2);
    t.add('one');
    Atomics.add(meta, 0, 1); // a write in progress (odd sequence)
    expect(read(t)).toEqual([]);
    Atomics.add(meta, 0, 1);
    expect(read(t)).toEqual(['one']);
  });

  it('keeps many add/remove rounds consistent (model check against a set)', () => {
    const t = new SharedSubjects({ slots: 16, slotBytes: 64 });
    const model = new Map<string, number>();
    let seed = 7;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 5000; i++) {
      if (model.size > 0 && (model.size === 16 || rand(2) === 0)) {
        const [subject, slot] = [...model][rand(model.size)]!;
        t.remove(slot);
        model.delete(subject);
      } else {
        const subject = `$JS.ACK.MESH_WORK.work_x.1.${i}.${i}.0.${rand(100)}`;
        model.set(subject, t.add(subject)!);
      }
      if (i % 97 === 0) expect(read(t)).toEqual([...model.keys()].sort());
    }
  });
});
