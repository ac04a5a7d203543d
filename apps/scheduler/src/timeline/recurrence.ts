import { CronExpressionParser } from 'cron-parser';
import { DateTime, IANAZone } from 'luxon';
import rrule from 'rrule';
import type { Recurrence as RecurrenceSpec } from '@taskmesh/protocol';

const { RRule } = rrule;

/** A recurrence definition that cannot be used: `field` names the dispatch field, `reason` says why. */
export class RecurrenceError extends Error {
  constructor(
    readonly field: 'recurrence' | 'timezone' | 'start',
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** Most occurrences ever listed at once (catch-up after an outage, previews). */
export const MAX_OCCURRENCES_LISTED = 1000;

/** Steps next() takes past wall times that map to instants not after the one asked (DST changes need one or two). */
const MAX_STEPS = 100;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * When a dispatch occurs, as epoch ms (pure: no clock). One occurrence at `start`; or an RFC 5545 RRULE with
 * `start` as DTSTART; or a cron expression (occurrences at or after `start`). Rules are computed in wall-clock time
 * of `timezone` (default UTC), so "every day at 02:30 Europe/Berlin" stays at 02:30 across DST changes; a wall time
 * that does not exist (spring forward) moves forward by the gap, an ambiguous one (fall back) is its first
 * occurrence (RFC 5545 3.3.5). A UTC `UNTIL` (`...Z`) is an instant, compared as such whatever the zone.
 */
export class Recurrence {
  private constructor(
    private readonly startMs: number,
    private readonly nextAfter: (afterMs: number) => number | undefined,
  ) {}

  /** Builds it; throws RecurrenceError naming the bad field. */
  static of(spec: { start: string; recurrence?: RecurrenceSpec; timezone?: string }): Recurrence {
    const startMs = Date.parse(spec.start);
    if (Number.isNaN(startMs)) throw new RecurrenceError('start', 'not an instant');
    const zone = spec.timezone ?? 'UTC';
    if (!IANAZone.isValidZone(zone)) throw new RecurrenceError('timezone', `unknown time zone ${JSON.stringify(zone)} (use an IANA name such as Europe/Berlin)`);
    const recurrence = spec.recurrence;
    if (recurrence === undefined) return new Recurrence(startMs, (after) => (after < startMs ? startMs : undefined));
    if (typeof recurrence === 'string') return new Recurrence(startMs, rruleNext(recurrence, startMs, zone));
    return new Recurrence(startMs, cronNext(recurrence.cron, startMs, zone));
  }

  /** The first occurrence strictly after `afterMs` (use `-Infinity` for the first of all), if any. */
  next(afterMs: number): number | undefined {
    return this.nextAfter(Math.max(afterMs, this.startMs - 1));
  }

  /** Occurrences in (`afterMs`, `untilMs`], at most `limit`, oldest first. */
  between(afterMs: number, untilMs: number, limit = MAX_OCCURRENCES_LISTED): number[] {
    const out: number[] = [];
    for (let t = this.next(afterMs); t !== undefined && t <= untilMs && out.length < limit; t = this.next(t)) out.push(t);
    return out;
  }
}

/** An RRULE evaluated in `zone`'s wall-clock time: rrule runs on "floating" UTC dates, luxon maps them to instants. */
function rruleNext(text: string, startMs: number, zone: string): (afterMs: number) => number | undefined {
  let options;
  try {
    options = RRule.parseString(text.replace(/^RRULE:/i, ''));
  } catch (err) {
    throw new RecurrenceError('recurrence', `not an RFC 5545 RRULE: ${(err as Error).message}`);
  }
  if (options.freq === undefined) throw new RecurrenceError('recurrence', 'an RRULE needs FREQ (e.g. FREQ=DAILY;BYHOUR=2)');
  if (options.dtstart || options.tzid) throw new RecurrenceError('recurrence', 'give the first occurrence as `start` and the zone as `timezone`, not DTSTART/TZID');
  // rrule reads UNTIL=...Z as a UTC instant, but the rule runs on floating wall times: move the bound there too.
  if (options.until instanceof Date && /UNTIL=\d{8}(T\d{6})?Z/i.test(text)) options.until = new Date(toFloating(options.until.getTime(), zone));
  // RFC 5545 times have whole seconds (rrule drops the rest after the first): the rule runs on start's whole second,
  // and every occurrence gets start's milliseconds back, so they are exactly INTERVAL apart.
  const subSecond = ((startMs % 1000) + 1000) % 1000;
  let rule: InstanceType<typeof RRule>;
  try {
    rule = new RRule({ ...options, dtstart: new Date(toFloating(startMs - subSecond, zone)) });
  } catch (err) {
    throw new RecurrenceError('recurrence', (err as Error).message);
  }
  // The shift must not carry the last occurrence past UNTIL (inclusive, like rrule): the bound as an instant.
  const untilMs = options.until instanceof Date ? fromFloating(options.until.getTime(), zone) : undefined;
  return (asked) => {
    // Wall-time order and instant order disagree only around an offset change. Just after a spring-forward, a wall
    // time in the gap runs later than its wall time says: look back by the gap. In a repeated (fall-back) hour, a
    // wall time maps to its first instant, which may not be after `afterMs`: jump past all of those at once.
    const afterMs = asked - subSecond;
    let cursor = new Date(toFloating(afterMs, zone) - springGapBehind(afterMs, zone));
    for (let step = 0; step < MAX_STEPS; step++) {
      const floating = rule.after(cursor, false);
      if (floating === null) return undefined;
      const at = fromFloating(floating.getTime(), zone);
      if (at > afterMs) return untilMs !== undefined && at + subSecond > untilMs ? undefined : at + subSecond;
      // `at` is the first instant of a wall time repeated after a fall-back that `afterMs` is already past: skip the
      // rest of the repeated range (it ends at the change plus the earlier offset).
      const change = offsetMs(at, zone) === offsetMs(afterMs, zone) ? undefined : changeBetween(at, afterMs, zone);
      cursor = change === undefined ? floating : new Date(Math.max(floating.getTime(), change + offsetMs(at, zone) - 1));
    }
    return undefined;
  };
}

function cronNext(expression: string, startMs: number, zone: string): (afterMs: number) => number | undefined {
  try {
    CronExpressionParser.parse(expression, { currentDate: new Date(startMs), tz: zone });
  } catch (err) {
    throw new RecurrenceError('recurrence', `not a cron expression: ${(err as Error).message}`);
  }
  return (afterMs) => {
    const from = Math.max(afterMs, startMs - 1);
    const it = CronExpressionParser.parse(expression, { currentDate: new Date(from), tz: zone });
    const next = it.next().getTime();
    // cron-parser steps to the next second boundary from currentDate.
    return next > afterMs ? next : undefined;
  };
}

/** The instant's wall-clock time in `zone`, written as if it were UTC. */
function toFloating(ms: number, zone: string): number {
  const local = DateTime.fromMillis(ms, { zone });
  return Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second, local.millisecond);
}

/**
 * The instant at which `zone`'s wall clock shows the floating time `floatingMs`: of an ambiguous wall time (fall
 * back) the first; one that does not exist (spring forward) moves forward by the gap (luxon's choice).
 */
function fromFloating(floatingMs: number, zone: string): number {
  const candidates = [offsetMs(floatingMs - DAY_MS, zone), offsetMs(floatingMs + DAY_MS, zone)]
    .map((offset) => floatingMs - offset)
    .filter((instant) => toFloating(instant, zone) === floatingMs);
  if (candidates.length > 0) return Math.min(...candidates);
  const f = new Date(floatingMs);
  return DateTime.fromObject(
    { year: f.getUTCFullYear(), month: f.getUTCMonth() + 1, day: f.getUTCDate(), hour: f.getUTCHours(), minute: f.getUTCMinutes(), second: f.getUTCSeconds(), millisecond: f.getUTCMilliseconds() },
    { zone },
  ).toMillis();
}

/** The zone's offset at `ms`, in ms. */
function offsetMs(ms: number, zone: string): number {
  return DateTime.fromMillis(ms, { zone }).offset * 60_000;
}

/** The first instant in (lo, hi] whose offset is hi's (lo has another): the offset change, to the second. */
function changeBetween(lo: number, hi: number, zone: string): number {
  const target = offsetMs(hi, zone);
  while (hi - lo > 1_000) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (offsetMs(mid, zone) === target) hi = mid;
    else lo = mid;
  }
  return hi - (hi % 1_000);
}

/** How far the zone's clocks sprang forward within the last three hours before `ms` (0 almost always). */
function springGapBehind(ms: number, zone: string): number {
  return Math.max(0, offsetMs(ms, zone) - offsetMs(ms - 3 * HOUR_MS, zone));
}
