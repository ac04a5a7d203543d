import { FailureCode, MeshError, type DispatchDefinition } from '#protocol';
import { checkDefinition } from './definition-check.js';

const NOW = Date.parse('2024-05-01T12:00:00.000Z');
const def = (over: Partial<DispatchDefinition>): DispatchDefinition => ({ task: 'echo', args: null, start: '2024-05-01T12:00:10.000Z', active: true, dryRun: false, misfire: 'skip', ...over });
const problem = (d: DispatchDefinition): string | undefined => {
  try {
    checkDefinition(d, NOW);
    return undefined;
  } catch (err) {
    expect((err as MeshError).code).toBe(FailureCode.VALIDATION_FAILED);
    return (err as { problems: string[] }).problems[0];
  }
};

describe(checkDefinition.name, () => {
  it('accepts a future start, a recurrence with occurrences left, and a run still going', () => {
    expect(problem(def({}))).toBeUndefined();
    expect(problem(def({ start: '2020-01-01T00:00:00Z', recurrence: 'FREQ=DAILY' }))).toBeUndefined();
    expect(problem(def({ start: '2024-05-01T11:30:00Z', duration: 3_600_000 }))).toBeUndefined();
    expect(problem(def({ start: '2024-05-01T11:59:30Z' }))).toBeUndefined();
  });

  it('refuses, with the reason, what would never fire', () => {
    expect(problem(def({ start: '2024-04-01T00:00:00Z' }))).toMatch(/^start: is more than 60 s in the past and there is no recurrence/);
    expect(problem(def({ start: '2020-01-01T00:00:00Z', recurrence: 'FREQ=DAILY;COUNT=3' }))).toMatch(/^recurrence: has no occurrence left/);
    expect(problem(def({ recurrence: 'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30' }))).toMatch(/^recurrence: never fires/);
  });

  it('names the recurrence or time zone that does not compile', () => {
    expect(problem(def({ recurrence: 'FREQ=FORTNIGHTLY' }))).toMatch(/^recurrence: /);
    expect(problem(def({ recurrence: { cron: '61 * * * *' } }))).toMatch(/^recurrence: cron/);
    expect(problem(def({ recurrence: 'FREQ=DAILY', timezone: 'Nowhere/Land' }))).toMatch(/^timezone: unknown time zone/);
  });
});
