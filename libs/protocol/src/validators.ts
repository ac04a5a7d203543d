/**
 * Field rules of the wire messages. Each decorator registers its rule twice: with class-validator (so
 * `validate()` / `validateSync()` work on any message instance, as everywhere else in the codebase) and in a
 * compiled table that the parsers run directly. The table is the hot path: class-validator's generic
 * machinery costs ~12 µs per message, the table well under 1 µs, and every call crosses three parses.
 * `rules.spec.ts` checks that both verdicts agree.
 */
import { IsOptional, ValidateBy } from 'class-validator';
import { isJsonObject, jsonProblem } from './json.js';

/** One compiled rule: a predicate and the problem text (without the field name) when it fails. */
export interface FieldRule {
  readonly name: string;
  readonly check: (value: unknown) => boolean;
  readonly message: (value: unknown) => string;
}

/** The compiled rules of one message class, by field, in declaration order. */
export interface ClassRules {
  readonly fields: ReadonlyMap<string, { optional: boolean; rules: FieldRule[] }>;
}

const registry = new WeakMap<object, { fields: Map<string, { optional: boolean; rules: FieldRule[] }> }>();

/** The compiled rules of `ctor` (empty when it declares none). */
export function rulesOf(ctor: object): ClassRules {
  return registry.get(ctor) ?? { fields: new Map() };
}

function entry(target: object, field: string): { optional: boolean; rules: FieldRule[] } {
  const ctor = (target as { constructor: object }).constructor;
  let table = registry.get(ctor);
  if (table === undefined) registry.set(ctor, (table = { fields: new Map() }));
  let slot = table.fields.get(field);
  if (slot === undefined) table.fields.set(field, (slot = { optional: false, rules: [] }));
  return slot;
}

/** Builds a decorator that registers `rule` with class-validator and in the compiled table. */
function ruleDecorator(rule: FieldRule, each = false): PropertyDecorator {
  const classValidator = ValidateBy({
    name: rule.name,
    validator: {
      validate: (value: unknown) => rule.check(value),
      defaultMessage: (args) => `$property ${rule.message(args?.value)}`,
    },
  }, each ? { each } : undefined);
  return (target, key) => {
    classValidator(target, key);
    // Decorators run bottom-up; unshift keeps the table in the order the rules are written.
    entry(target, String(key)).rules.unshift(rule);
  };
}

/** Field may be absent (undefined or null); its other rules apply only when present. */
export function Optional(): PropertyDecorator {
  const classValidator = IsOptional();
  return (target, key) => {
    classValidator(target, key);
    entry(target, String(key)).optional = true;
  };
}

/**
 * The problems of `message` under the compiled rules, as `path: what is wrong` (first failing rule of each
 * field only, like class-validator's `stopAtFirstError`). `skip` names fields already reported.
 */
export function ruleProblems(message: object, prefix = '', skip: readonly string[] = []): string[] {
  const problems: string[] = [];
  const record = message as Record<string, unknown>;
  for (const [field, { optional, rules }] of rulesOf(message.constructor).fields) {
    if (skip.includes(field)) continue;
    const value = record[field];
    if (optional && (value === undefined || value === null)) continue;
    for (const rule of rules) {
      if (!rule.check(value)) {
        problems.push(`${prefix}${field}: ${rule.message(value)}`);
        break;
      }
    }
  }
  return problems;
}

/**
 * Why `token` cannot be one NATS subject token, or undefined when it can. A token is non-empty and has no
 * `.` (separator), `*` / `>` (wildcards), whitespace or control characters (nats.js `validName` rules).
 */
export function tokenProblem(token: unknown): string | undefined {
  if (typeof token !== 'string') return `must be a string, not ${token === null ? 'null' : typeof token}`;
  if (token.length === 0) return 'must not be empty';
  for (const ch of token) {
    const c = ch.codePointAt(0)!;
    if (ch === '.') return 'must not contain "."';
    if (ch === '*' || ch === '>') return `must not contain the wildcard "${ch}"`;
    if (c <= 0x20 || (c >= 0x7f && c <= 0x9f) || (c > 0x7f && /\s/u.test(ch))) return 'must not contain whitespace or control characters';
  }
  return undefined;
}

/** True when `subject` is a literal subject (valid tokens separated by single dots, no wildcards). */
export function isLiteralSubject(subject: unknown, maxLength = Number.MAX_SAFE_INTEGER): boolean {
  return typeof subject === 'string' && subject.length <= maxLength && subject.split('.').every((t) => tokenProblem(t) === undefined);
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** True when `value` is an ISO-8601 instant with date, time and zone, as `Date#toISOString` writes. */
export function isIsoInstant(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 40 && ISO_INSTANT.test(value) && !Number.isNaN(Date.parse(value));
}

/** Field is exactly `expected` (a protocol word or the version). */
export function IsConstant(expected: string | number): PropertyDecorator {
  return ruleDecorator({ name: 'isConstant', check: (v) => v === expected, message: () => `must be ${JSON.stringify(expected)}` });
}

/** Field is one of `values`. */
export function IsOneOf(values: readonly string[]): PropertyDecorator {
  return ruleDecorator({
    name: 'isOneOf',
    check: (v) => typeof v === 'string' && values.includes(v),
    message: () => `must be one of ${values.join(', ')}`,
  });
}

/** Field is a boolean. */
export function IsBool(): PropertyDecorator {
  return ruleDecorator({ name: 'isBool', check: (v) => typeof v === 'boolean', message: () => 'must be a boolean' });
}

/** Field is any JSON value (normalise absent to null before checking when absent is allowed). */
export function IsJson(): PropertyDecorator {
  return ruleDecorator({ name: 'isJson', check: (v) => jsonProblem(v) === undefined, message: (v) => jsonProblem(v) ?? 'must be JSON' });
}

/** Field is a JSON object. */
export function IsJsonObject(): PropertyDecorator {
  return ruleDecorator({
    name: 'isJsonObject',
    check: (v) => isJsonObject(v),
    message: (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (jsonProblem(v) ?? 'must be a JSON object') : 'must be a JSON object'),
  });
}

/** Field is an ISO-8601 instant (`2024-05-01T12:00:00.000Z`). */
export function IsIsoInstant(): PropertyDecorator {
  return ruleDecorator({ name: 'isIsoInstant', check: isIsoInstant, message: () => 'must be an ISO-8601 instant such as 2024-05-01T12:00:00.000Z' });
}

/** Field is a literal NATS subject (no wildcards), at most `maxLength` characters. */
export function IsLiteralSubject(maxLength: number): PropertyDecorator {
  return ruleDecorator({
    name: 'isLiteralSubject',
    check: (v) => isLiteralSubject(v, maxLength),
    message: () => `must be a NATS subject without wildcards, at most ${maxLength} characters`,
  });
}

/** Field is a string matching `pattern`; the message names the pattern so a caller can fix the value. */
export function MatchesPattern(pattern: RegExp): PropertyDecorator {
  return ruleDecorator({
    name: 'matchesPattern',
    check: (v) => typeof v === 'string' && pattern.test(v),
    message: (v) => (typeof v === 'string' ? `must match ${String(pattern)}` : 'must be a string'),
  });
}

/** Field is an array of at most `maxItems` strings, each matching `pattern`; the message names the first bad item. */
export function IsStringArray(pattern: RegExp, maxItems: number): PropertyDecorator {
  const firstBad = (v: unknown[]): number => {
    for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string' || !pattern.test(v[i] as string)) return i;
    return -1;
  };
  return ruleDecorator({
    name: 'isStringArray',
    check: (v) => Array.isArray(v) && v.length <= maxItems && firstBad(v) === -1,
    message: (v) => {
      if (!Array.isArray(v)) return 'must be an array of strings';
      if (v.length > maxItems) return `must have at most ${maxItems} items`;
      return `item [${firstBad(v)}] must be a string matching ${String(pattern)}`;
    },
  });
}

/** Field is a safe integer between `min` and `max` inclusive. */
export function IsIntBetween(min: number, max: number): PropertyDecorator {
  return ruleDecorator({
    name: 'isIntBetween',
    check: (v) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max,
    message: () => (max === Number.MAX_SAFE_INTEGER ? `must be an integer >= ${min}` : `must be an integer from ${min} to ${max}`),
  });
}

/** Field is a string of `min` to `max` characters. */
export function IsStringLength(min: number, max: number): PropertyDecorator {
  return ruleDecorator({
    name: 'isStringLength',
    check: (v) => typeof v === 'string' && v.length >= min && v.length <= max,
    message: (v) => (typeof v === 'string' ? `must be ${min} to ${max} characters long` : 'must be a string'),
  });
}
