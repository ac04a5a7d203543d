import { CronExpressionParser } from 'cron-parser';
import { DateTime, IANAZone } from 'luxon';
import rrulePkg from 'rrule';
import type { DispatchRecurrence } from '#protocol';

// rrule ships CommonJS (a UMD bundle): Node hands ESM importers its module.exports as the default export.
const { RRule } = rrulePkg;
type RRuleInstance = InstanceType<typeof RRule>;

/** The longest loop spent looking for one occurrence (guards against rules that match almost never). */
const MAX_STEPS = 10_000;
const DAY_MS = 86_400_000;

/** A recurrence that cannot be used; `field` is the dispatch field to blame. */
export class RecurrenceError extends Error {
  constructor(readonly field: 'recurrence' | 'timezone' | 'start', message: string) {
    super(message);
    this.name = 'RecurrenceError';
  }
}

/**
 * The occurrences of a dispatch: instants (epoch ms), ascending, never two equal. Pure: no clock, no I/O.
 * An RRULE is expanded in wall-clock time of the dispatch's time zone (DTSTART = `start` read in that zone), then
 * each wall time is turned into an instant in that zone, so `BYHOUR=9` stays at 09:00 across DST changes; a wall
 * time that does not exist (spring forward) moves forward by the gap, an ambiguous one (fall back) takes the
 * earlier instant. Cron expressions are read in the zone by cron-parser.
 */
export interface Schedule {
  /** The first occurrence at or after `ms`, or undefined when there is none. */
  atOrAfter(ms: number): number | undefined;
  /** The occurrences in [fromMs, toMs], ascending, at most `limit` (the first ones). */
  between(fromMs: number, toMs: number, limit: number): number[];
}

/** What a schedule is computed from (a dispatch's fields). */
export interface ScheduleSpec {
  start: string;
  recurrence?: DispatchRecurrence;
  timezone?: string;
}

/** Compiles a dispatch's schedule; throws RecurrenceError naming the field when it cannot be used. */
export function compileSchedule(spec: ScheduleSpec): Schedule {
  const zone = spec.timezone ?? 'UTC';
  if (!IANAZone.isValidZone(zone)) throw new RecurrenceError('timezone', `unknown time zone ${JSON.stringify(zone)} (an IANA name such as Europe/Berlin)`);
  const startMs = Date.parse(spec.start);
  if (Number.isNaN(startMs)) throw new RecurrenceError('start', 'is not an instant');
  if (spec.recurrence === undefined) return new OnceSchedule(startMs);
  if (typeof spec.recurrence === 'string') return new RRuleSchedule(startMs, spec.recurrence, zone);
  return new CronSchedule(startMs, spec.recurrence.cron, zone);
}

abstract class BaseSchedule implements Schedule {
  abstract atOrAfter(ms: number): number | undefined;

  between(fromMs: number, toMs: number, limit: number): number[] {
    const out: number[] = [];
    let next = this.atOrAfter(fromMs);
    while (next !== undefined && next <= toMs && out.length < limit) {
      out.push(next);
      next = this.atOrAfter(next + 1);
    }
    return out;
  }
}

class OnceSchedule extends BaseSchedule {
  constructor(private readonly startMs: number) {
    super();
  }

  atOrAfter(ms: number): number | undefined {
    return ms <= this.startMs ? this.startMs : undefined;
  }
}

class RRuleSchedule extends BaseSchedule {
  private readonly rule: RRuleInstance;

  constructor(
    private readonly startMs: number,
    text: string,
    private readonly zone: string,
  ) {
    super();
    const body = text.trim().replace(/^RRULE:/i, '');
    if (/DTSTART|TZID|\n/i.test(body)) {
      throw new RecurrenceError('recurrence', 'must be one RRULE line without DTSTART or TZID: the dispatch\'s start and timezone give them');
    }
    let options;
    try {
      options = RRule.parseString(body);
    } catch (err) {
      throw new RecurrenceError('recurrence', `is not an RFC 5545 RRULE: ${(err as Error).message}`);
    }
    if (options.freq === undefined || options.freq === null) throw new RecurrenceError('recurrence', 'is not an RFC 5545 RRULE: FREQ is missing or unknown');
    if (options.until instanceof Date && /UNTIL=\d{8}(T\d{6})?Z/i.test(body)) {
      // A UTC UNTIL is an instant; the rule runs in wall-clock time of the zone.
      options.until = new Date(wallOf(options.until.getTime(), zone));
    }
    try {
      this.rule = new RRule({ ...options, dtstart: new Date(wallOf(startMs, zone)), tzid: null });
      // One evaluation now, so a rule rrule cannot expand fails here and not in the scheduler's timer.
      this.rule.after(new Date(wallOf(startMs, zone)), true);
    } catch (err) {
      throw new RecurrenceError('recurrence', `cannot be expanded: ${(err as Error).message}`);
    }
  }

  atOrAfter(ms: number): number | undefined {
    const from = Math.max(ms, this.startMs);
    // Wall time and instant order agree except within an offset change; start that much earlier and filter.
    const margin = this.marginAt(from);
    let cursor = new Date(wallOf(from, this.zone) - margin);
    let inclusive = true;
    for (let step = 0; step < MAX_STEPS; step++) {
      const wall = this.rule.after(cursor, inclusive);
      if (wall === null) return undefined;
      const instant = instantOf(wall.getTime(), this.zone);
      if (instant >= from) return instant;
      cursor = wall;
      inclusive = false;
    }
    return undefined;
  }

  // One expansion for the whole range (rrule re-expands from DTSTART on every call).
  override between(fromMs: number, toMs: number, limit: number): number[] {
    const from = Math.max(fromMs, this.startMs);
    if (toMs < from || limit <= 0) return [];
    const out: number[] = [];
    const after = new Date(wallOf(from, this.zone) - this.marginAt(from));
    const before = new Date(wallOf(toMs, this.zone) + this.marginAt(toMs));
    this.rule.between(after, before, true, (wall) => {
      const instant = instantOf(wall.getTime(), this.zone);
      if (instant >= from && instant <= toMs && instant !== out.at(-1)) out.push(instant);
      return out.length < limit;
    });
    return out;
  }

  /** How far wall time and instant order may disagree around `ms`: the offset change within a day, if any. */
  private marginAt(ms: number): number {
    return Math.abs(offsetMs(ms - DAY_MS, this.zone) - offsetMs(ms + DAY_MS, this.zone));
  }
}

class CronSchedule extends BaseSchedule {
  constructor(
    private readonly startMs: number,
    private readonly expression: string,
    private readonly zone: string,
  ) {
    super();
    try {
      CronExpressionParser.parse(expression, { currentDate: new Date(startMs), tz: zone }).next();
    } catch (err) {
      throw new RecurrenceError('recurrence', `cron: ${(err as Error).message}`);
    }
  }

  atOrAfter(ms: number): number | undefined {
    const from = Math.max(ms, this.startMs);
    try {
      // next() is strictly after currentDate (second resolution): start just before `from` to include it.
      return CronExpressionParser.parse(this.expression, { currentDate: new Date(from - 1), tz: this.zone }).next().getTime();
    } catch {
      return undefined; // no match within cron-parser's own search bound
    }
  }
}

/** The wall-clock time of instant `ms` in `zone`, expressed as if it were UTC (rrule's "floating" time). */
export function wallOf(ms: number, zone: string): number {
  return ms + offsetMs(ms, zone);
}

/**
 * The instant at which the clocks of `zone` show `wall` (a floating time). An ambiguous wall time (fall back) is
 * its first occurrence, as RFC 5545 3.3.5 says; one that does not exist (spring forward) moves forward by the gap.
 */
export function instantOf(wall: number, zone: string): number {
  const candidates = [offsetMs(wall - DAY_MS, zone), offsetMs(wall + DAY_MS, zone)]
    .map((offset) => wall - offset)
    .filter((instant) => wallOf(instant, zone) === wall);
  if (candidates.length > 0) return Math.min(...candidates);
  const w = DateTime.fromMillis(wall, { zone: 'UTC' });
  return DateTime.fromObject(
    { year: w.year, month: w.month, day: w.day, hour: w.hour, minute: w.minute, second: w.second, millisecond: w.millisecond },
    { zone },
  ).toMillis();
}

function offsetMs(ms: number, zone: string): number {
  return DateTime.fromMillis(ms, { zone }).offset * 60_000;
}
