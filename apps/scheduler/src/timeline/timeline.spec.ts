import fc from 'fast-check';
import { DispatchMessage, type DispatchDefinition } from '#protocol';
import { Timeline, type TimelineOptions } from './timeline.js';
import type { TimelineAction } from './timeline.stimuli.js';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');
const S = 1_000;

/** A dispatch created at `at` (updatedAt = createdAt unless given). */
function dispatch(fields: Partial<DispatchDefinition> & { id?: string; at?: number; updatedAt?: number } = {}): DispatchMessage {
  const { id = 'd1', at = T0, updatedAt, ...rest } = fields;
  return DispatchMessage.create({
    id, task: 'echo', args: null, start: new Date(T0 + S).toISOString(), active: true, dryRun: false, misfire: 'skip',
    createdAt: new Date(at).toISOString(), updatedAt: new Date(updatedAt ?? at).toISOString(), ...rest,
  });
}

const timeline = (o: Partial<TimelineOptions> = {}): Timeline => new Timeline({ catchUpMs: 3_600_000, maxDispatches: 100, ...o });

/** Actions as short strings: `fire d1 +1000`, `stop d1 +1000` (occurrence relative to T0). */
function brief(actions: TimelineAction[]): string[] {
  return actions.map((a) => {
    switch (a.type) {
      case 'fire':
        return `fire ${a.dispatch.id} +${a.occurrence - T0}${a.late ? ' late' : ''}`;
      case 'stop':
        return `stop ${a.dispatch.id} +${a.occurrence - T0}`;
      case 'notify':
        return `notify ${a.event} ${a.dispatch.id} +${a.occurrence - T0}`;
      case 'skip':
        return `skip ${a.dispatch.id} ${a.occurrences.map((o) => `+${o - T0}`).join(',')}`;
      case 'forget':
        return `forget ${a.id}`;
      case 'refuse':
        return `refuse ${a.dispatch.id}`;
    }
  });
}

/** Runs the timeline's timer to `until`, ticking exactly at each due time (an ideal, never-late timer). */
function runUntil(t: Timeline, until: number): string[] {
  const out: string[] = [];
  for (let due = t.nextDueAt(); due !== undefined && due <= until; due = t.nextDueAt()) out.push(...brief(t.handle({ type: 'tick', now: due })));
  return out;
}

describe(Timeline.name, () => {
  it('fires FREQ=SECONDLY;COUNT=3 with a 500 ms duration: three starts, three stops, then nothing', () => {
    // The e2e scenario of the issue, on a fake clock.
    const t = timeline();
    expect(t.handle({ type: 'upsert', now: T0, dispatch: dispatch({ recurrence: 'FREQ=SECONDLY;COUNT=3', duration: 500 }) })).toEqual([]);
    expect(t.nextDueAt()).toBe(T0 + S);
    expect(runUntil(t, T0 + 60 * S)).toEqual(['fire d1 +1000', 'stop d1 +1000', 'fire d1 +2000', 'stop d1 +2000', 'fire d1 +3000', 'stop d1 +3000']);
    expect(t.nextDueAt()).toBeUndefined();
  });

  it('a dispatch without duration only starts; an inactive one never does', () => {
    const t = timeline();
    t.handle({ type: 'upsert', now: T0, dispatch: dispatch({ recurrence: 'FREQ=SECONDLY;COUNT=2' }) });
    t.handle({ type: 'upsert', now: T0, dispatch: dispatch({ id: 'off', active: false, recurrence: 'FREQ=SECONDLY' }) });
    expect(runUntil(t, T0 + 10 * S)).toEqual(['fire d1 +1000', 'fire d1 +2000']);
  });

  it('does nothing on a tick before anything is due, and ticks late within the grace are still on time', () => {
    const t = timeline();
    t.handle({ type: 'upsert', now: T0, dispatch: dispatch() });
    expect(t.handle({ type: 'tick', now: T0 + 999 })).toEqual([]);
    expect(brief(t.handle({ type: 'tick', now: T0 + S + 800 }))).toEqual(['fire d1 +1000']);
  });

  it('keeps local wall-clock times across a DST change (daily 09:00 Europe/Berlin)', () => {
    const start = Date.parse('2024-03-29T08:00:00Z');
    const t = timeline();
    t.handle({ type: 'upsert', now: start - S, dispatch: dispatch({ at: start - S, start: new Date(start).toISOString(), recurrence: 'FREQ=DAILY;COUNT=4', timezone: 'Europe/Berlin' }) });
    const fires: string[] = [];
    for (let due = t.nextDueAt(); due !== undefined; due = t.nextDueAt()) {
      for (const a of t.handle({ type: 'tick', now: due })) if (a.type === 'fire') fires.push(new Date(a.occurrence).toISOString());
    }
    expect(fires).toEqual(['2024-03-29T08:00:00.000Z', '2024-03-30T08:00:00.000Z', '2024-03-31T07:00:00.000Z', '2024-04-01T07:00:00.000Z']);
  });

  it('fires a cron dispatch in its time zone', () => {
    const t = timeline();
    t.handle({ type: 'upsert', now: T0, dispatch: dispatch({ start: new Date(T0).toISOString(), recurrence: { cron: '*/2 * * * * *' } }) });
    expect(runUntil(t, T0 + 5 * S)).toEqual(['fire d1 +2000', 'fire d1 +4000']);
  });

  describe('updates and deletes (the seed semantics)', () => {
    const running = (): Timeline => {
      const t = timeline();
      t.handle({ type: 'upsert', now: T0, dispatch: dispatch({ duration: 10 * S }) });
      expect(brief(t.handle({ type: 'tick', now: T0 + S }))).toEqual(['fire d1 +1000']);
      expect(t.running('d1')).toEqual([T0 + S]);
      return t;
    };

    it('a runtime attribute changed while running is told at once; the stop moves with the new duration', () => {
      const t = running();
      const now = T0 + 2 * S;
      expect(brief(t.handle({ type: 'upsert', now, dispatch: dispatch({ duration: 5 * S, args: { v: 2 }, updatedAt: now }) }))).toEqual(['notify started d1 +1000']);
      expect(runUntil(t, T0 + 60 * S)).toEqual(['stop d1 +1000']);
    });

    it('a change that ends the run (deactivated, or duration already over) stops it at once', () => {
      const t = running();
      expect(brief(t.handle({ type: 'upsert', now: T0 + 2 * S, dispatch: dispatch({ duration: 10 * S, active: false, updatedAt: T0 + 2 * S }) }))).toEqual(['notify stopped d1 +1000']);
      expect(t.nextDueAt()).toBeUndefined();
      const u = running();
      expect(brief(u.handle({ type: 'upsert', now: T0 + 3 * S, dispatch: dispatch({ duration: S, updatedAt: T0 + 3 * S }) }))).toEqual(['notify stopped d1 +1000']);
    });

    it('a change that does not matter to the run (misfire policy) says nothing and keeps its stop', () => {
      const t = running();
      expect(t.handle({ type: 'upsert', now: T0 + 2 * S, dispatch: dispatch({ duration: 10 * S, misfire: 'fire-all', updatedAt: T0 + 2 * S }) })).toEqual([]);
      expect(runUntil(t, T0 + 60 * S)).toEqual(['stop d1 +1000']);
    });

    it('a redelivered identical dispatch changes nothing', () => {
      const t = running();
      expect(t.handle({ type: 'upsert', now: T0 + 2 * S, dispatch: dispatch({ duration: 10 * S }) })).toEqual([]);
      expect(t.running('d1')).toEqual([T0 + S]);
    });

    it('an update reschedules: a moved start fires at the new time, not the old', () => {
      const t = timeline();
      t.handle({ type: 'upsert', now: T0, dispatch: dispatch() });
      t.handle({ type: 'upsert', now: T0 + 100, dispatch: dispatch({ start: new Date(T0 + 5 * S).toISOString(), updatedAt: T0 + 100 }) });
      expect(t.nextDueAt()).toBe(T0 + 5 * S);
      expect(runUntil(t, T0 + 60 * S)).toEqual(['fire d1 +5000']);
    });

    it('deleted while running: stopped at once, then forgotten; deleted while idle: forgotten only', () => {
      const t = running();
      expect(brief(t.handle({ type: 'remove', now: T0 + 2 * S, id: 'd1' }))).toEqual(['stop d1 +1000', 'forget d1']);
      expect(t.nextDueAt()).toBeUndefined();
      const u = timeline();
      u.handle({ type: 'upsert', now: T0, dispatch: dispatch({ recurrence: 'FREQ=SECONDLY' }) });
      expect(brief(u.handle({ type: 'remove', now: T0 + 100, id: 'd1' }))).toEqual(['forget d1']);
      expect(brief(u.handle({ type: 'remove', now: T0 + 100, id: 'd1' }))).toEqual([]);
    });
  });

  describe('misfire policies after a simulated outage', () => {
    // The leader fired +1 s and +2 s of a secondly series, then died; the next leader starts at +6.5 s.
    const outage = (misfire: 'skip' | 'fire-once' | 'fire-all', o: { duration?: number; catchUpMs?: number } = {}): string[] => {
      // A 200 ms grace, so the +6 s occurrence is missed too (by 500 ms) rather than on time.
      const before = timeline({ catchUpMs: o.catchUpMs ?? 3_600_000, graceMs: 200 });
      const d = dispatch({ recurrence: 'FREQ=SECONDLY;COUNT=10', misfire, ...(o.duration ? { duration: o.duration } : {}) });
      before.handle({ type: 'upsert', now: T0, dispatch: d });
      const fired = runUntil(before, T0 + 2 * S).filter((a) => a.startsWith('fire'));
      expect(fired).toEqual(['fire d1 +1000', 'fire d1 +2000']);
      const after = timeline({ catchUpMs: o.catchUpMs ?? 3_600_000, graceMs: 200 });
      return brief(after.handle({ type: 'sync', now: T0 + 6_500, dispatches: [d], fired: new Map([['d1', T0 + 2 * S]]) }));
    };

    it('skip: the missed occurrences are dropped, the series goes on at the next one', () => {
      expect(outage('skip')).toEqual(['skip d1 +3000,+4000,+5000,+6000']);
    });

    it('skip still starts, late, an occurrence whose run is not over', () => {
      expect(outage('skip', { duration: 2 * S })).toEqual(['skip d1 +3000,+4000', 'fire d1 +5000 late', 'fire d1 +6000 late']);
    });

    it('fire-once: only the latest missed occurrence fires', () => {
      expect(outage('fire-once')).toEqual(['skip d1 +3000,+4000,+5000', 'fire d1 +6000 late']);
    });

    it('fire-all: every missed occurrence fires, oldest first, none twice', () => {
      expect(outage('fire-all')).toEqual(['fire d1 +3000 late', 'fire d1 +4000 late', 'fire d1 +5000 late', 'fire d1 +6000 late']);
    });

    it('fire-all only within the catch-up window (older occurrences are not looked at)', () => {
      expect(outage('fire-all', { catchUpMs: 2 * S })).toEqual(['fire d1 +5000 late', 'fire d1 +6000 late']);
    });

    it('a late fire of a run already over starts and stops at once', () => {
      expect(outage('fire-all', { duration: 500 })).toEqual([
        'fire d1 +3000 late', 'stop d1 +3000', 'fire d1 +4000 late', 'stop d1 +4000', 'fire d1 +5000 late', 'stop d1 +5000', 'fire d1 +6000 late', 'stop d1 +6000',
      ]);
    });

    it('a new leader sends the stop of a run its predecessor started', () => {
      const d = dispatch({ duration: 5 * S, recurrence: 'FREQ=MINUTELY' });
      const t = timeline();
      expect(t.handle({ type: 'sync', now: T0 + 3 * S, dispatches: [d], fired: new Map([['d1', T0 + S]]) })).toEqual([]);
      expect(t.running('d1')).toEqual([T0 + S]);
      expect(runUntil(t, T0 + 10 * S)).toEqual(['stop d1 +1000']);
    });

    it('occurrences before the dispatch was created or last changed were never due: not missed', () => {
      const t = timeline();
      const d = dispatch({ at: T0 + 10 * S, start: new Date(T0 - 600 * S).toISOString(), recurrence: 'FREQ=MINUTELY', misfire: 'fire-all' });
      expect(t.handle({ type: 'sync', now: T0 + 30 * S, dispatches: [d], fired: new Map() })).toEqual([]);
      expect(t.nextDueAt()).toBe(T0 + 60 * S);
    });
  });

  it('re-sync works out what is new, updated and deleted (the seed\'s _fetch)', () => {
    const t = timeline();
    const a = dispatch({ id: 'a', recurrence: 'FREQ=MINUTELY' });
    const b = dispatch({ id: 'b', recurrence: 'FREQ=MINUTELY', duration: 30 * S });
    const gone = dispatch({ id: 'gone', recurrence: 'FREQ=MINUTELY' });
    t.handle({ type: 'sync', now: T0, dispatches: [a, b, gone], fired: new Map() });
    expect(brief(t.handle({ type: 'tick', now: T0 + S }))).toEqual(['fire a +1000', 'fire b +1000', 'fire gone +1000']);
    const b2 = dispatch({ id: 'b', recurrence: 'FREQ=MINUTELY', duration: 30 * S, args: 'new', updatedAt: T0 + 2 * S });
    const c = dispatch({ id: 'c', at: T0 + 2 * S, start: new Date(T0 + 3 * S).toISOString() });
    const actions = brief(t.handle({ type: 'sync', now: T0 + 2 * S, dispatches: [a, b2, c], fired: new Map([['a', T0 + S]]) }));
    expect(actions).toEqual(['notify started b +1000', 'forget gone']);
    expect(t.size).toBe(3);
    expect(runUntil(t, T0 + 61 * S)).toEqual(['fire c +3000', 'stop b +1000', 'fire a +61000', 'fire b +61000']);
  });

  it('refuses dispatches beyond its bound, and ones whose recurrence does not compile', () => {
    const t = timeline({ maxDispatches: 1 });
    t.handle({ type: 'upsert', now: T0, dispatch: dispatch({ id: 'a' }) });
    expect(brief(t.handle({ type: 'upsert', now: T0, dispatch: dispatch({ id: 'b' }) }))).toEqual(['refuse b']);
    expect(brief(t.handle({ type: 'upsert', now: T0, dispatch: dispatch({ id: 'a', recurrence: 'FREQ=NEVER', updatedAt: T0 + 1 }) }))).toEqual(['forget a', 'refuse a']);
    expect(t.size).toBe(0);
  });

  it('bounds a catch-up burst per step and goes on at the next tick', () => {
    const t = timeline({ maxFiresPerStep: 3 });
    const d = dispatch({ recurrence: 'FREQ=SECONDLY;COUNT=5', misfire: 'fire-all' });
    const first = brief(t.handle({ type: 'sync', now: T0 + 10 * S, dispatches: [d], fired: new Map() }));
    expect(first).toEqual(['fire d1 +1000 late', 'fire d1 +2000 late', 'fire d1 +3000 late']);
    expect(t.nextDueAt()).toBe(T0 + 10 * S);
    expect(brief(t.handle({ type: 'tick', now: T0 + 10 * S }))).toEqual(['fire d1 +4000 late', 'fire d1 +5000 late']);
  });

  it('fires each occurrence exactly once with fire-all, whatever the tick times and restarts (property)', () => {
    // Ticks at arbitrary times (a late timer, a busy loop, outages) and restarts that keep only the persisted mark.
    fc.assert(fc.property(
      fc.array(fc.record({ gap: fc.integer({ min: 1, max: 4_000 }), restart: fc.boolean() }), { minLength: 1, maxLength: 40 }),
      fc.option(fc.integer({ min: 100, max: 3_000 }), { nil: undefined }),
      (steps, duration) => {
        const d = dispatch({ recurrence: 'FREQ=SECONDLY;INTERVAL=2;COUNT=20', misfire: 'fire-all', ...(duration ? { duration } : {}) });
        let t = timeline();
        let mark: number | undefined;
        let now = T0;
        const fired: number[] = [];
        const apply = (actions: TimelineAction[]): void => {
          for (const a of actions) {
            if (a.type !== 'fire') continue;
            fired.push(a.occurrence);
            mark = a.occurrence;
          }
        };
        apply(t.handle({ type: 'upsert', now, dispatch: d }));
        for (const step of steps) {
          now += step.gap;
          if (step.restart) {
            t = timeline();
            apply(t.handle({ type: 'sync', now, dispatches: [d], fired: new Map(mark === undefined ? [] : [['d1', mark]]) }));
          } else {
            apply(t.handle({ type: 'tick', now }));
          }
        }
        const expected = Array.from({ length: 20 }, (_, i) => T0 + S + i * 2 * S).filter((o) => o <= now);
        expect(fired).toEqual(expected);
      },
    ), { numRuns: 200 });
  });
});
