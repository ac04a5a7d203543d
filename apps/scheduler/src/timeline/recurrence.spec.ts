import fc from 'fast-check';
import { Recurrence, RecurrenceError } from './recurrence.js';

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
const all = (r: Recurrence, from: string, to: string): string[] => r.between(Date.parse(from) - 1, Date.parse(to)).map((t) => new Date(t).toISOString());

describe(Recurrence.name, () => {
  it('occurs once at start without a recurrence', () => {
    const r = Recurrence.of({ start: '2026-11-23T10:00:00Z' });
    expect(iso(r.next(-Infinity))).toBe('2026-11-23T10:00:00.000Z');
    expect(r.next(Date.parse('2026-11-23T10:00:00Z'))).toBeUndefined();
  });

  it('follows COUNT and UNTIL', () => {
    expect(all(Recurrence.of({ start: '2026-11-23T10:00:00Z', recurrence: 'FREQ=SECONDLY;COUNT=3' }), '2026-11-23T00:00:00Z', '2026-11-24T00:00:00Z'))
      .toEqual(['2026-11-23T10:00:00.000Z', '2026-11-23T10:00:01.000Z', '2026-11-23T10:00:02.000Z']);
    expect(all(Recurrence.of({ start: '2026-11-23T10:00:00Z', recurrence: 'FREQ=DAILY;UNTIL=20261125T100000Z' }), '2026-11-01T00:00:00Z', '2026-12-31T00:00:00Z'))
      .toEqual(['2026-11-23T10:00:00.000Z', '2026-11-24T10:00:00.000Z', '2026-11-25T10:00:00.000Z']);
  });

  it('keeps the milliseconds of start on every occurrence of an RRULE (RFC 5545 times have whole seconds)', () => {
    const r = Recurrence.of({ start: '2026-11-23T10:00:05.556Z', recurrence: 'FREQ=SECONDLY;INTERVAL=2;COUNT=3' });
    expect(all(r, '2026-11-23T10:00:00Z', '2026-11-23T11:00:00Z')).toEqual(['2026-11-23T10:00:05.556Z', '2026-11-23T10:00:07.556Z', '2026-11-23T10:00:09.556Z']);
    expect(iso(r.next(Date.parse('2026-11-23T10:00:07.000Z')))).toBe('2026-11-23T10:00:07.556Z');
    expect(iso(r.next(Date.parse('2026-11-23T10:00:07.556Z')))).toBe('2026-11-23T10:00:09.556Z');
    const daily = Recurrence.of({ start: '2026-03-28T02:30:00.250Z', recurrence: 'FREQ=DAILY;COUNT=3', timezone: 'Europe/Berlin' });
    expect(all(daily, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z')).toEqual(['2026-03-28T02:30:00.250Z', '2026-03-29T01:30:00.250Z', '2026-03-30T01:30:00.250Z']);
  });

  it('does not let those milliseconds carry the last occurrence past UNTIL', () => {
    const utc = Recurrence.of({ start: '2026-11-23T10:00:00.500Z', recurrence: 'FREQ=SECONDLY;UNTIL=20261123T100002Z' });
    expect(all(utc, '2026-11-23T10:00:00Z', '2026-11-23T11:00:00Z')).toEqual(['2026-11-23T10:00:00.500Z', '2026-11-23T10:00:01.500Z']);
    const exact = Recurrence.of({ start: '2026-11-23T10:00:00Z', recurrence: 'FREQ=SECONDLY;UNTIL=20261123T100002Z' });
    expect(all(exact, '2026-11-23T10:00:00Z', '2026-11-23T11:00:00Z')).toHaveLength(3); // UNTIL itself is included
    // UNTIL without Z is a wall time in the zone: 11:00:02 in Berlin is 10:00:02Z.
    const local = Recurrence.of({ start: '2026-11-23T10:00:00.500Z', recurrence: 'FREQ=SECONDLY;UNTIL=20261123T110002', timezone: 'Europe/Berlin' });
    expect(all(local, '2026-11-23T10:00:00Z', '2026-11-23T11:00:00Z')).toEqual(['2026-11-23T10:00:00.500Z', '2026-11-23T10:00:01.500Z']);
  });

  it('handles month ends: BYMONTHDAY=-1 is the last day of every month, leap February included', () => {
    const r = Recurrence.of({ start: '2027-12-31T09:00:00Z', recurrence: 'FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4' });
    expect(all(r, '2027-01-01T00:00:00Z', '2029-01-01T00:00:00Z')).toEqual([
      '2027-12-31T09:00:00.000Z', '2028-01-31T09:00:00.000Z', '2028-02-29T09:00:00.000Z', '2028-03-31T09:00:00.000Z',
    ]);
    // Day 31 only in months that have one (RFC 5545: invalid dates are skipped).
    expect(all(Recurrence.of({ start: '2026-01-31T09:00:00Z', recurrence: 'FREQ=MONTHLY;COUNT=3' }), '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z'))
      .toEqual(['2026-01-31T09:00:00.000Z', '2026-03-31T09:00:00.000Z', '2026-05-31T09:00:00.000Z']);
  });

  it('keeps wall-clock time across DST changes in its time zone', () => {
    // Daily at 02:30 Europe/Berlin: 01:30Z in winter, 00:30Z in summer; on 29 March 02:30 does not exist (03:30).
    const r = Recurrence.of({ start: '2026-03-27T01:30:00Z', recurrence: 'FREQ=DAILY;COUNT=4', timezone: 'Europe/Berlin' });
    expect(all(r, '2026-03-01T00:00:00Z', '2026-04-30T00:00:00Z')).toEqual([
      '2026-03-27T01:30:00.000Z', '2026-03-28T01:30:00.000Z', '2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z',
    ]);
    // Back in October: 09:00 New York is 13:00Z in summer, 14:00Z after 1 November.
    const ny = Recurrence.of({ start: '2026-10-30T13:00:00Z', recurrence: 'FREQ=DAILY;COUNT=4', timezone: 'America/New_York' });
    expect(all(ny, '2026-10-01T00:00:00Z', '2026-11-30T00:00:00Z')).toEqual([
      '2026-10-30T13:00:00.000Z', '2026-10-31T13:00:00.000Z', '2026-11-01T14:00:00.000Z', '2026-11-02T14:00:00.000Z',
    ]);
  });

  it('runs cron expressions in its time zone, from start on', () => {
    const r = Recurrence.of({ start: '2026-03-28T00:00:00Z', recurrence: { cron: '0 9 * * *' }, timezone: 'Europe/Berlin' });
    expect(all(r, '2026-03-28T00:00:00Z', '2026-03-30T23:00:00Z')).toEqual(['2026-03-28T08:00:00.000Z', '2026-03-29T07:00:00.000Z', '2026-03-30T07:00:00.000Z']);
    expect(iso(Recurrence.of({ start: '2026-11-23T10:00:30Z', recurrence: { cron: '*/10 * * * * *' } }).next(-Infinity))).toBe('2026-11-23T10:00:30.000Z');
  });

  it('refuses bad definitions, naming the field', () => {
    const bad = (spec: Parameters<typeof Recurrence.of>[0]): RecurrenceError => {
      try {
        Recurrence.of(spec);
      } catch (err) {
        if (err instanceof RecurrenceError) return err;
        throw err;
      }
      throw new Error('accepted');
    };
    expect(bad({ start: '2026-11-23T10:00:00Z', recurrence: 'FREQ=SOMETIMES' }).field).toBe('recurrence');
    expect(bad({ start: '2026-11-23T10:00:00Z', recurrence: 'COUNT=3' }).reason).toMatch(/FREQ/);
    expect(bad({ start: '2026-11-23T10:00:00Z', recurrence: { cron: 'every day' } }).field).toBe('recurrence');
    expect(bad({ start: '2026-11-23T10:00:00Z', timezone: 'Mars/Olympus' }).field).toBe('timezone');
  });

  it('takes the first of an ambiguous wall time (fall back), as RFC 5545 3.3.5 says', () => {
    // 02:30 happens twice in Berlin on 25 October 2026: first in CEST (00:30Z), then in CET (01:30Z).
    const r = Recurrence.of({ start: '2026-10-24T00:30:00Z', recurrence: 'FREQ=DAILY;COUNT=3', timezone: 'Europe/Berlin' });
    expect(all(r, '2026-10-01T00:00:00Z', '2026-11-01T00:00:00Z')).toEqual(['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  it('reads a UTC UNTIL as an instant, whatever the time zone', () => {
    // 12:00Z is 21:00 in Tokyo: the rule runs in Tokyo wall time, but UNTIL=...T123000Z still means 12:30Z.
    const r = Recurrence.of({ start: '2026-05-01T12:00:00Z', recurrence: 'FREQ=MINUTELY;INTERVAL=10;UNTIL=20260501T123000Z', timezone: 'Asia/Tokyo' });
    expect(all(r, '2026-05-01T00:00:00Z', '2026-05-02T00:00:00Z')).toEqual(['2026-05-01T12:00:00.000Z', '2026-05-01T12:10:00.000Z', '2026-05-01T12:20:00.000Z', '2026-05-01T12:30:00.000Z']);
  });

  it('finds an occurrence moved out of the spring gap when asked from inside the gap\'s shadow', () => {
    // Sundays 02:30 Berlin; 29 March 2026 02:30 does not exist and runs at 03:30 CEST (01:30Z). Asked after
    // 01:10Z (03:10 CEST, a wall time later than 02:30), it must still be found.
    const r = Recurrence.of({ start: '2026-03-01T01:30:00Z', recurrence: 'FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30', timezone: 'Europe/Berlin' });
    expect(iso(r.next(Date.parse('2026-03-29T01:10:00Z')))).toBe('2026-03-29T01:30:00.000Z');
  });

  it('goes on through a repeated (fall-back) hour: its wall times occur once, at their first instants', () => {
    // Minutely in Berlin on 25 October 2026: 02:00-02:59 runs once, in CEST (00:00Z-00:59Z); the CET repeat of that
    // hour (01:00Z-01:59Z) has none; 03:00 CET is 02:00Z. Asked from inside the repeat, next() must not give up.
    const r = Recurrence.of({ start: '2026-10-24T00:00:00Z', recurrence: 'FREQ=MINUTELY', timezone: 'Europe/Berlin' });
    expect(iso(r.next(Date.parse('2026-10-25T00:58:30Z')))).toBe('2026-10-25T00:59:00.000Z');
    expect(iso(r.next(Date.parse('2026-10-25T00:59:30Z')))).toBe('2026-10-25T02:00:00.000Z');
    expect(iso(r.next(Date.parse('2026-10-25T01:30:00Z')))).toBe('2026-10-25T02:00:00.000Z');
  });

  it('never yields an instant twice when hourly wall times fall into the spring gap (America/New_York)', () => {
    // 00:00, 01:00 EST; 02:00 does not exist (-> 03:00 EDT, the same instant as 03:00): four distinct instants.
    const r = Recurrence.of({ start: '2026-03-08T05:00:00Z', recurrence: 'FREQ=HOURLY;COUNT=5', timezone: 'America/New_York' });
    expect(all(r, '2026-03-01T00:00:00Z', '2026-03-31T00:00:00Z')).toEqual(['2026-03-08T05:00:00.000Z', '2026-03-08T06:00:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T08:00:00.000Z']);
  });

  it('next() from any instant agrees with the full expansion, across DST changes (property)', () => {
    // A catch-up window can start anywhere, also inside a DST change: next() must not skip an occurrence there.
    const rules = ['FREQ=HOURLY;INTERVAL=7', 'FREQ=DAILY;BYHOUR=1,2,3;BYMINUTE=30', 'FREQ=WEEKLY;BYDAY=MO,SU;BYHOUR=2;BYMINUTE=30', 'FREQ=MONTHLY;BYMONTHDAY=-1'];
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe'];
    const base = Date.parse('2026-01-01T00:00:00Z');
    const expansions = new Map<string, number[]>();
    const expand = (rule: string, zone: string): number[] => {
      const key = `${rule} ${zone}`;
      if (!expansions.has(key)) {
        const r = Recurrence.of({ start: new Date(base).toISOString(), recurrence: rule, timezone: zone });
        const out: number[] = [];
        for (let t = r.next(-Infinity); t !== undefined && t < base + 130 * 86_400_000; t = r.next(t)) out.push(t);
        expansions.set(key, out);
      }
      return expansions.get(key)!;
    };
    fc.assert(fc.property(fc.constantFrom(...rules), fc.constantFrom(...zones), fc.integer({ min: 0, max: 120 * 24 * 60 }), (rule, zone, minute) => {
      const r = Recurrence.of({ start: new Date(base).toISOString(), recurrence: rule, timezone: zone });
      const after = base + minute * 60_000;
      const expected = expand(rule, zone).find((t) => t > after);
      // Past the expansion's horizon the next one is simply later.
      if (expected === undefined) expect(r.next(after)).toBeGreaterThanOrEqual(base + 130 * 86_400_000);
      else expect(r.next(after)).toBe(expected);
    }), { numRuns: 150 });
  });
});
