import { DEFAULT_UPCOMING, DispatchCreate, DispatchEventMessage, MAX_UPCOMING, parseDispatchUpcoming, parseDispatchUpdate, type DispatchRecord } from './dispatch.message.js';
import { InvalidMessageError } from './errors.js';

const problemsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidMessageError) return err.problems;
    throw err;
  }
  throw new Error('accepted');
};

const record: DispatchRecord = {
  v: 1, id: 'd1', task: 'echo', args: { a: 1 }, start: '2026-11-23T10:00:00.000Z', duration: 500, recurrence: 'FREQ=SECONDLY;COUNT=3',
  active: true, dryRun: false, misfire: 'skip', createdAt: '2026-11-23T09:00:00.000Z', updatedAt: '2026-11-23T09:00:00.000Z',
};

describe(DispatchCreate.name, () => {
  it('fills the defaults: args null, active, not a dry run, misfire skip', () => {
    expect({ ...DispatchCreate.parse('{"task":"echo","start":"2026-11-23T10:00:00Z"}') }).toMatchObject({ task: 'echo', args: null, active: true, dryRun: false, misfire: 'skip' });
  });

  it('takes an RRULE string or {cron}', () => {
    expect(DispatchCreate.parse({ task: 't', start: '2026-11-23T10:00:00Z', recurrence: { cron: '0 9 * * 1-5' } }).recurrence).toEqual({ cron: '0 9 * * 1-5' });
    expect(DispatchCreate.parse({ task: 't', start: '2026-11-23T10:00:00Z', recurrence: 'FREQ=DAILY' }).recurrence).toBe('FREQ=DAILY');
  });

  it('names every bad field', () => {
    const problems = problemsOf(() => DispatchCreate.parse({ id: 'a:b', task: 'a.b', start: 'tomorrow', duration: 0, misfire: 'sometimes', recurrence: { cron: '', every: 1 }, bogus: 1 }));
    for (const field of ['unknown field "bogus"', 'id:', 'task:', 'start:', 'duration:', 'misfire:', 'recurrence.cron:', 'unknown field "recurrence.every"']) {
      expect(problems.some((p) => p.startsWith(field))).toBe(true);
    }
    expect(problemsOf(() => DispatchCreate.parse({ start: '2026-11-23T10:00:00Z' }))).toEqual(['task: is required']);
    expect(problemsOf(() => DispatchCreate.parse({ task: 't', start: '2026-11-23T10:00:00Z', recurrence: 42 }))[0]).toMatch(/^recurrence: must be an RRULE string or/);
  });
});

describe(parseDispatchUpdate.name, () => {
  it('keeps what is left out and removes what is null', () => {
    expect(parseDispatchUpdate('{"id":"d1","active":false,"duration":null,"recurrence":null}')).toEqual({ id: 'd1', changes: { active: false }, removed: ['duration', 'recurrence'] });
  });

  it('sets args to null when asked (null is a value the task may get, not a removal)', () => {
    expect(parseDispatchUpdate({ id: 'd1', args: null }).changes).toEqual({ args: null });
  });

  it('judges the changes by the create rules, naming each bad field', () => {
    expect(problemsOf(() => parseDispatchUpdate({ id: 'd1', start: 'soon', bogus: true }))).toEqual(expect.arrayContaining(['unknown field "bogus"', expect.stringMatching(/^start: /)]));
    expect(problemsOf(() => parseDispatchUpdate({ active: true }))[0]).toMatch(/^id: /);
  });
});

describe(parseDispatchUpcoming.name, () => {
  it('takes a limit from 1 to MAX_UPCOMING, DEFAULT_UPCOMING when absent', () => {
    expect(parseDispatchUpcoming('{}')).toEqual({ limit: DEFAULT_UPCOMING });
    expect(parseDispatchUpcoming({ limit: MAX_UPCOMING })).toEqual({ limit: MAX_UPCOMING });
  });

  it('names a bad limit and unknown fields', () => {
    expect(problemsOf(() => parseDispatchUpcoming({ limit: 0, id: 'd1' }))).toEqual(['unknown field "id"', `limit: must be an integer from 1 to ${MAX_UPCOMING}`]);
    expect(problemsOf(() => parseDispatchUpcoming({ limit: 2.5 }))).toEqual([`limit: must be an integer from 1 to ${MAX_UPCOMING}`]);
  });
});

describe(DispatchEventMessage.name, () => {
  it('carries the record and, for running-state events, the occurrence', () => {
    const e = DispatchEventMessage.create('started', record, Date.parse(record.start), '2026-11-23T10:00:00.010Z');
    expect(JSON.parse(JSON.stringify(e))).toEqual({ v: 1, event: 'started', dispatch: record, at: '2026-11-23T10:00:00.010Z', occurrence: record.start });
    expect(DispatchEventMessage.parse(JSON.stringify(e))).toEqual(e);
    expect(JSON.parse(JSON.stringify(DispatchEventMessage.create('created', record, undefined, record.createdAt)))).not.toHaveProperty('occurrence');
    expect(problemsOf(() => DispatchEventMessage.parse({ v: 1, event: 'paused', dispatch: {}, at: 'now' }))).toEqual(expect.arrayContaining([expect.stringMatching(/^event: /), 'dispatch: must be a dispatch', expect.stringMatching(/^at: /)]));
  });
});
