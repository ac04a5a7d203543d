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
});
