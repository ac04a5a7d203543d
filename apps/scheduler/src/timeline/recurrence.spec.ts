import fc from 'fast-check';
import { compileSchedule, RecurrenceError, type ScheduleSpec } from './recurrence.js';

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
const all = (spec: ScheduleSpec, limit = 50): string[] => compileSchedule(spec).between(Date.parse(spec.start), Date.parse('2100-01-01T00:00:00Z'), limit).map((m) => iso(m)!);

describe(compileSchedule.name, () => {
  it('without a recurrence, occurs once at start', () => {
    const s = compileSchedule({ start: '2024-05-01T12:00:00.000Z' });
    expect(iso(s.atOrAfter(0))).toBe('2024-05-01T12:00:00.000Z');
    expect(s.atOrAfter(Date.parse('2024-05-01T12:00:00.001Z'))).toBeUndefined();
  });

  it('keeps 09:00 local across the spring-forward change (Europe/Berlin, 31 March 2024)', () => {
    // 09:00 CET is 08:00Z; from 31 March 09:00 CEST is 07:00Z.
    expect(all({ start: '2024-03-30T08:00:00Z', recurrence: 'FREQ=DAILY;COUNT=3', timezone: 'Europe/Berlin' }))
      .toEqual(['2024-03-30T08:00:00.000Z', '2024-03-31T07:00:00.000Z', '2024-04-01T07:00:00.000Z']);
  });

  it('keeps 09:00 local across the fall-back change (Europe/Berlin, 27 October 2024)', () => {
    expect(all({ start: '2024-10-26T07:00:00Z', recurrence: 'RRULE:FREQ=DAILY;COUNT=3', timezone: 'Europe/Berlin' }))
      .toEqual(['2024-10-26T07:00:00.000Z', '2024-10-27T08:00:00.000Z', '2024-10-28T08:00:00.000Z']);
  });

  it('moves a wall time that does not exist forward by the gap, and takes the earlier of an ambiguous one', () => {
    // 02:30 does not exist on 31 March in Berlin: it becomes 03:30 CEST (01:30Z).
    expect(all({ start: '2024-03-30T01:30:00Z', recurrence: 'FREQ=DAILY;COUNT=3', timezone: 'Europe/Berlin' }))
      .toEqual(['2024-03-30T01:30:00.000Z', '2024-03-31T01:30:00.000Z', '2024-04-01T00:30:00.000Z']);
    // 02:30 happens twice on 27 October: the first (CEST, 00:30Z) is taken, once.
    expect(all({ start: '2024-10-26T00:30:00Z', recurrence: 'FREQ=DAILY;COUNT=3', timezone: 'Europe/Berlin' }))
      .toEqual(['2024-10-26T00:30:00.000Z', '2024-10-27T00:30:00.000Z', '2024-10-28T01:30:00.000Z']);
  });

  it('never yields one instant twice when hourly wall times fall into the spring gap (America/New_York)', () => {
    const got = all({ start: '2024-03-10T05:00:00Z', recurrence: 'FREQ=HOURLY;COUNT=5', timezone: 'America/New_York' });
    // 00:00, 01:00 EST, then 02:00 does not exist (-> 03:00 EDT, the same instant as 03:00): four distinct instants.
    expect(got).toEqual(['2024-03-10T05:00:00.000Z', '2024-03-10T06:00:00.000Z', '2024-03-10T07:00:00.000Z', '2024-03-10T08:00:00.000Z']);
  });

  it('handles month ends: the last day of each month, and months without a 31st skipped as RFC 5545 says', () => {
    expect(all({ start: '2024-01-31T10:00:00Z', recurrence: 'FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4' }))
      .toEqual(['2024-01-31T10:00:00.000Z', '2024-02-29T10:00:00.000Z', '2024-03-31T10:00:00.000Z', '2024-04-30T10:00:00.000Z']);
    expect(all({ start: '2024-01-31T10:00:00Z', recurrence: 'FREQ=MONTHLY;COUNT=3' }))
      .toEqual(['2024-01-31T10:00:00.000Z', '2024-03-31T10:00:00.000Z', '2024-05-31T10:00:00.000Z']);
  });

  it('stops after COUNT and at UNTIL (inclusive; a UTC UNTIL is an instant even in another zone)', () => {
    expect(all({ start: '2024-05-01T12:00:00Z', recurrence: 'FREQ=SECONDLY;COUNT=3' }))
      .toEqual(['2024-05-01T12:00:00.000Z', '2024-05-01T12:00:01.000Z', '2024-05-01T12:00:02.000Z']);
    expect(all({ start: '2024-05-01T12:00:00Z', recurrence: 'FREQ=MINUTELY;INTERVAL=10;UNTIL=20240501T123000Z', timezone: 'Asia/Tokyo' }))
      .toEqual(['2024-05-01T12:00:00.000Z', '2024-05-01T12:10:00.000Z', '2024-05-01T12:20:00.000Z', '2024-05-01T12:30:00.000Z']);
    const s = compileSchedule({ start: '2024-05-01T12:00:00Z', recurrence: 'FREQ=SECONDLY;COUNT=3' });
    expect(s.atOrAfter(Date.parse('2024-05-01T12:00:02.001Z'))).toBeUndefined();
  });

  it('reads cron in the time zone, across DST', () => {
    expect(all({ start: '2024-03-29T12:00:00Z', recurrence: { cron: '0 9 * * *' }, timezone: 'Europe/Berlin' }, 3))
      .toEqual(['2024-03-30T08:00:00.000Z', '2024-03-31T07:00:00.000Z', '2024-04-01T07:00:00.000Z']);
    const s = compileSchedule({ start: '2024-05-01T12:00:00Z', recurrence: { cron: '*/2 * * * * *' } });
    expect(iso(s.atOrAfter(Date.parse('2024-05-01T12:00:00Z')))).toBe('2024-05-01T12:00:00.000Z');
    expect(iso(s.atOrAfter(Date.parse('2024-05-01T11:00:00Z')))).toBe('2024-05-01T12:00:00.000Z');
  });

  it('names the field of what cannot be used', () => {
    const fieldOf = (spec: ScheduleSpec): string | undefined => {
      try {
        compileSchedule(spec);
        return undefined;
      } catch (err) {
        return err instanceof RecurrenceError ? err.field : 'other';
      }
    };
    const start = '2024-05-01T12:00:00Z';
    expect(fieldOf({ start, recurrence: 'FREQ=DAILY', timezone: 'Mars/Olympus' })).toBe('timezone');
    expect(fieldOf({ start, recurrence: 'FREQ=SOMETIMES' })).toBe('recurrence');
    expect(fieldOf({ start, recurrence: 'NOT A RULE' })).toBe('recurrence');
    expect(fieldOf({ start, recurrence: 'DTSTART:20240101T000000Z\nRRULE:FREQ=DAILY' })).toBe('recurrence');
    expect(fieldOf({ start, recurrence: { cron: 'every day' } })).toBe('recurrence');
    expect(fieldOf({ start, recurrence: { cron: '0 0 30 2 *' } })).toBe('recurrence');
  });

  it('between is ascending, distinct, inside the range and agrees with atOrAfter (property)', () => {
    const rules = ['FREQ=HOURLY;INTERVAL=7', 'FREQ=DAILY;BYHOUR=1,2,3', 'FREQ=WEEKLY;BYDAY=MO,SU;BYHOUR=2;BYMINUTE=30', 'FREQ=MONTHLY;BYMONTHDAY=-1'];
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe'];
    const base = Date.parse('2024-01-01T00:00:00Z');
    fc.assert(fc.property(fc.constantFrom(...rules), fc.constantFrom(...zones), fc.integer({ min: 0, max: 300 * 24 }), fc.integer({ min: 1, max: 24 * 20 }), (rule, zone, startH, spanH) => {
      const s = compileSchedule({ start: new Date(base).toISOString(), recurrence: rule, timezone: zone });
      const from = base + startH * 3_600_000;
      const to = from + spanH * 3_600_000;
      const got = s.between(from, to, 1000);
      for (let i = 0; i < got.length; i++) {
        expect(got[i]).toBeGreaterThanOrEqual(from);
        expect(got[i]).toBeLessThanOrEqual(to);
        if (i > 0) expect(got[i]).toBeGreaterThan(got[i - 1]);
        expect(s.atOrAfter(i === 0 ? from : got[i - 1] + 1)).toBe(got[i]);
      }
      const after = s.atOrAfter(got.length === 0 ? from : got.at(-1)! + 1);
      expect(after === undefined || after > to).toBe(true);
    }), { numRuns: 25 });
  });
});
