import fc from 'fast-check';
import { MisfirePolicy } from '@taskmesh/protocol';
import { Recurrence } from './recurrence.js';
import { Timeline, type Effect, type TimedDispatch } from './timeline.js';

const T0 = Date.parse('2026-11-23T10:00:00Z');
const S = 1000;
const dispatch = (over: Partial<TimedDispatch> & { rule?: string; start?: number } = {}): TimedDispatch => ({
  id: over.id ?? 'd1', active: over.active ?? true, duration: over.duration, misfire: over.misfire ?? MisfirePolicy.Skip, since: over.since, runtime: over.runtime,
  recurrence: over.recurrence ?? Recurrence.of({ start: new Date(over.start ?? T0).toISOString(), recurrence: over.rule }),
});
const timeline = (): Timeline => new Timeline({ catchUpMs: 60 * S, graceMs: 200 });
/** Runs the fake clock from `from` to `to`, waking at every nextAt like the shell's one timer. */
const run = (t: Timeline, from: number, to: number): Array<Effect & { at: number }> => {
  const out: Array<Effect & { at: number }> = [];
  for (let now = t.nextAt(); now !== undefined && now <= to; now = t.nextAt()) {
    out.push(...t.advance(Math.max(now, from)).map((e) => ({ ...e, at: Math.max(now!, from) })));
  }
  return out;
};
const short = (effects: Effect[]): string[] => effects.map((e) => `${e.type}@${(e.occurrence - T0) / S}`);

describe(Timeline.name, () => {
  it('fires each occurrence and stops it after its duration: SECONDLY;COUNT=3 with 500 ms', () => {
    const t = timeline();
    expect(t.set(dispatch({ rule: 'FREQ=SECONDLY;COUNT=3', duration: 500 }), T0 - 5 * S)).toEqual([]);
    expect(t.nextAt()).toBe(T0);
    const effects = run(t, T0, T0 + 10 * S);
    expect(short(effects)).toEqual(['fire@0', 'stop@0', 'fire@1', 'stop@1', 'fire@2', 'stop@2']);
    expect(effects.map((e) => (e.at - T0) / S)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(effects[0]).toMatchObject({ until: T0 + 500, late: false });
    expect(t.nextAt()).toBeUndefined();
  });

  it('fires at the same local time across a DST change, on a fake clock (daily 09:00 Europe/Berlin, RRULE and cron)', () => {
    const start = Date.parse('2026-03-27T08:00:00Z'); // Friday 09:00 CET; summer time from Sunday 29 March
    const expected = ['2026-03-27T08:00:00.000Z', '2026-03-28T08:00:00.000Z', '2026-03-29T07:00:00.000Z', '2026-03-30T07:00:00.000Z'];
    for (const recurrence of ['FREQ=DAILY;COUNT=4', { cron: '0 9 * * *' }]) {
      const t = timeline();
      const d = { ...dispatch(), recurrence: Recurrence.of({ start: new Date(start).toISOString(), recurrence, timezone: 'Europe/Berlin' }) };
      t.set(d, start - S);
      const fired = run(t, start, Date.parse('2026-03-30T12:00:00Z')).filter((e) => e.type === 'fire');
      expect(fired.map((e) => new Date(e.occurrence).toISOString())).toEqual(expected);
      expect(fired.map((e) => new Date(e.at).toISOString())).toEqual(expected); // woken exactly then, never late
    }
  });

  it('only starts occurrences of a dispatch without duration', () => {
    const t = timeline();
    t.set(dispatch({ rule: 'FREQ=SECONDLY;COUNT=2' }), T0 - S);
    expect(short(run(t, T0, T0 + 5 * S))).toEqual(['fire@0', 'fire@1']);
  });

  it('reschedules on update: the old schedule is dropped, the new one applies', () => {
    const t = timeline();
    t.set(dispatch({ rule: 'FREQ=SECONDLY;COUNT=10' }), T0 - S);
    expect(short(run(t, T0, T0 + 1 * S))).toEqual(['fire@0', 'fire@1']);
    // Every 3 s from now on instead.
    t.set(dispatch({ rule: 'FREQ=SECONDLY;INTERVAL=3;COUNT=4' }), T0 + 1.1 * S);
    expect(short(run(t, T0 + 1.1 * S, T0 + 10 * S))).toEqual(['fire@3', 'fire@6', 'fire@9']);
  });

  it('stops a running occurrence at once when the dispatch is made inactive, moves its stop when the duration changes', () => {
    const t = timeline();
    t.set(dispatch({ duration: 10 * S }), T0 - S);
    expect(short(t.advance(T0))).toEqual(['fire@0']);
    // Longer: the stop moves from +10 s to +20 s, no event now.
    expect(t.set(dispatch({ duration: 20 * S }), T0 + S)).toEqual([]);
    expect(t.nextAt()).toBe(T0 + 20 * S);
    // Shorter than what already ran: stopped now.
    expect(short(t.set(dispatch({ duration: 500 }), T0 + 2 * S))).toEqual(['stop@0']);
    t.set(dispatch({ duration: 10 * S }), T0 + 2 * S);
    expect(t.nextAt()).toBeUndefined(); // the single occurrence was already fired: not again
    const t2 = timeline();
    t2.set(dispatch({ duration: 10 * S }), T0 - S);
    t2.advance(T0);
    expect(short(t2.set(dispatch({ duration: 10 * S, active: false }), T0 + S))).toEqual(['stop@0']);
    expect(t2.nextAt()).toBeUndefined();
  });

  it('tells a running occurrence at once when its runtime attributes change, and only then', () => {
    // New args while running -> the running state is sent again.
    const t = timeline();
    t.set(dispatch({ duration: 10 * S, runtime: 'args=1' }), T0 - S);
    expect(short(t.advance(T0))).toEqual(['fire@0']);
    expect(t.set(dispatch({ duration: 10 * S, runtime: 'args=2' }), T0 + S)).toEqual([{ type: 'notify', id: 'd1', occurrence: T0, until: T0 + 10 * S }]);
    expect(t.set(dispatch({ duration: 10 * S, runtime: 'args=2', misfire: MisfirePolicy.FireAll }), T0 + 2 * S)).toEqual([]);
    expect(short(run(t, T0 + 2 * S, T0 + 20 * S))).toEqual(['stop@0']);
  });

  it('stops a running occurrence when its dispatch is deleted, and forgets it', () => {
    const t = timeline();
    t.set(dispatch({ rule: 'FREQ=SECONDLY;COUNT=5', duration: 500 }), T0 - S);
    t.advance(T0);
    expect(short(t.delete('d1'))).toEqual(['stop@0']);
    expect(t.nextAt()).toBeUndefined();
    expect(t.size).toBe(0);
    expect(t.delete('d1')).toEqual([]);
  });

  describe('misfire policies after an outage (resync)', () => {
    // A SECONDLY series from T0; the scheduler was down from T0 - 1 s until T0 + 4.5 s.
    const series = (misfire: MisfirePolicy, duration?: number): TimedDispatch => dispatch({ rule: 'FREQ=SECONDLY;COUNT=10', misfire, duration });
    const resync = (d: TimedDispatch): Effect[] => timeline().set(d, T0 + 4.5 * S, { resync: true });

    it('skip: fires none of the missed occurrences; the series goes on', () => {
      const t = timeline();
      expect(t.set(series(MisfirePolicy.Skip), T0 + 4.5 * S, { resync: true })).toEqual([]);
      expect(t.nextAt()).toBe(T0 + 5 * S);
    });

    it('skip still picks up an occurrence whose duration runs now', () => {
      expect(short(resync(series(MisfirePolicy.Skip, 800)))).toEqual(['fire@4']);
    });

    it('fire-once: fires the latest missed occurrence once', () => {
      const effects = resync(series(MisfirePolicy.FireOnce));
      expect(short(effects)).toEqual(['fire@4']);
      expect(effects[0]).toMatchObject({ late: true });
    });

    it('fire-all: fires every missed occurrence, oldest first', () => {
      expect(short(resync(series(MisfirePolicy.FireAll)))).toEqual(['fire@0', 'fire@1', 'fire@2', 'fire@3', 'fire@4']);
    });

    it('fire-all stays within the catch-up window', () => {
      const t = new Timeline({ catchUpMs: 2 * S, graceMs: 200 });
      expect(short(t.set(series(MisfirePolicy.FireAll), T0 + 4.5 * S, { resync: true }))).toEqual(['fire@3', 'fire@4']);
    });

    it('owes nothing from before the definition took effect: a new leader does not fire the past of a new schedule', () => {
      // Created (or re-timed) at T0 + 2.5 s with a start in the past: the series' first occurrences were never due.
      const d = { ...series(MisfirePolicy.FireAll), since: T0 + 2.5 * S };
      expect(short(resync(d))).toEqual(['fire@3', 'fire@4']);
      expect(short(resync({ ...series(MisfirePolicy.FireOnce), since: T0 + 4.4 * S }))).toEqual([]);
      // A run still going is picked up whatever `since` says (the dispatch is "on" now).
      expect(short(resync({ ...series(MisfirePolicy.Skip, 800), since: T0 + 4.4 * S }))).toEqual(['fire@4']);
    });

    it('an occurrence just due is on time, not missed, under every policy', () => {
      const t = timeline();
      expect(t.set(series(MisfirePolicy.Skip), T0 + 100, { resync: true })).toEqual([]);
      expect(short(t.advance(T0 + 100))).toEqual(['fire@0']);
    });
  });

  it('fires every occurrence exactly once and stops each one, whatever the wake-up times (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 1500 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 5 }), (steps, count) => {
        const t = timeline();
        t.set(dispatch({ rule: `FREQ=SECONDLY;COUNT=${count}`, duration: 700 }), T0 - S);
        const effects: Effect[] = [];
        let now = T0 - S;
        for (const step of steps) {
          now += step;
          effects.push(...t.advance(now));
        }
        effects.push(...t.advance(now + 100 * S));
        const fired = effects.filter((e) => e.type === 'fire').map((e) => e.occurrence);
        expect(fired).toEqual(Array.from({ length: count }, (_, i) => T0 + i * S));
        expect(effects.filter((e) => e.type === 'stop').map((e) => e.occurrence)).toEqual(fired);
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});
