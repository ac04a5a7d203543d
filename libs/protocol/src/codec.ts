import { validateSync, type ValidationError } from 'class-validator';
import { InvalidMessageError, ProtocolVersionError } from './errors.js';
import { isJsonValue, isPlainObject, type JsonValue } from './json.js';
import { MAX_MESSAGE_BYTES } from './limits.js';
import { ruleProblems } from './validators.js';
import { PROTOCOL_VERSION } from './version.js';

// One decoder for every message: `fatal` turns invalid UTF-8 into an error instead of silent U+FFFD.
const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** The wire form of a message (UTF-8 JSON). Undefined fields are left out, as JSON.stringify does. */
export function encodeMessage(message: object): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

/**
 * The JSON value carried by `raw`: bytes and text are decoded and parsed (at most MAX_MESSAGE_BYTES), any
 * other value is taken as already parsed. Throws InvalidMessageError naming `what` for anything unreadable.
 */
export function decodeBody(raw: unknown, what: string): unknown {
  let text: string;
  if (isBytes(raw)) {
    if (raw.byteLength > MAX_MESSAGE_BYTES) throw tooLarge(what, raw.byteLength);
    try {
      text = utf8.decode(raw);
    } catch {
      throw InvalidMessageError.of(what, ['body is not valid UTF-8']);
    }
  } else if (typeof raw === 'string') {
    // UTF-16 units never outnumber UTF-8 bytes, so only long strings need the exact count.
    if (raw.length > MAX_MESSAGE_BYTES / 3) {
      const bytes = Buffer.byteLength(raw, 'utf8');
      if (bytes > MAX_MESSAGE_BYTES) throw tooLarge(what, bytes);
    }
    text = raw;
  } else {
    return raw;
  }
  if (text.trim() === '') throw InvalidMessageError.of(what, ['body is empty (expected a JSON object)']);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const reason = err instanceof Error ? err.message : 'unparseable';
    throw InvalidMessageError.of(what, [`body is not valid JSON (${clip(reason, 120)})`]);
  }
}

function isBytes(raw: unknown): raw is Uint8Array {
  try {
    return raw instanceof Uint8Array;
  } catch {
    return false; // a Proxy whose getPrototypeOf trap throws: not bytes, and objectOf will refuse it
  }
}

/** How a message class is read from the wire. */
export interface MessageSpec<T extends object> {
  /** Names the message in errors (`NOTIFY message`). */
  readonly what: string;
  /** The class to fill (decorated with the rules of validators.ts). */
  readonly ctor: new () => T;
  /** Every top-level field the message may carry; anything else is an `unknown field`. */
  readonly fields: readonly string[];
  /** Optional fields: `null` on the wire means absent. */
  readonly optional?: readonly string[];
  /** Whether the envelope carries `v` (checked before anything else: another version may mean other fields). */
  readonly versioned: boolean;
  /** Whether `v` may be left out (for bodies written by callers, where `v` is a courtesy). */
  readonly versionOptional?: boolean;
  /** Message-specific reading after the plain fields were copied (defaults, nested shapes); pushes problems. */
  readonly finish?: (message: T, record: Readonly<Record<string, unknown>>, problems: string[]) => void;
}

/**
 * Reads `raw` (bytes, JSON text or a parsed value) as the message of `spec`: a filled, validated instance, or
 * an InvalidMessageError listing every problem. Nothing else escapes, whatever the input.
 */
export function parseMessage<T extends object>(raw: unknown, spec: MessageSpec<T>): T {
  try {
    return readRecord(objectOf(decodeBody(raw, spec.what), spec.what, '', [spec.ctor]), spec, '');
  } catch (err) {
    throw asInvalid(err, spec.what);
  }
}

/** Like parseMessage for a value nested at `path` (e.g. `data.failure`): problems are pushed, not thrown. */
export function readNested<T extends object>(
  value: unknown,
  spec: MessageSpec<T>,
  path: string,
  problems: string[],
): T | undefined {
  if (!isRecordLike(value, [spec.ctor])) {
    problems.push(`${path}: must be an object`);
    return undefined;
  }
  try {
    return readRecord(value, spec, `${path}.`);
  } catch (err) {
    if (err instanceof InvalidMessageError && !(err instanceof ProtocolVersionError)) {
      problems.push(...err.problems);
      return undefined;
    }
    throw err;
  }
}

function readRecord<T extends object>(record: Readonly<Record<string, unknown>>, spec: MessageSpec<T>, prefix: string): T {
  const problems: string[] = [];
  if (spec.versioned) {
    if (!Object.hasOwn(record, 'v') || record['v'] === undefined) {
      if (spec.versionOptional !== true) problems.push(`${prefix}v: is required (protocol version ${PROTOCOL_VERSION})`);
    } else if (record['v'] !== PROTOCOL_VERSION) {
      throw new ProtocolVersionError(record['v']);
    }
  }
  for (const key of Object.keys(record)) {
    if (!spec.fields.includes(key)) problems.push(`unknown field ${fieldName(prefix + key)}`);
  }
  const message = new spec.ctor();
  const target = message as Record<string, unknown>;
  for (const field of spec.fields) {
    // Only own properties: an inherited `constructor` or `toString` is not a field the sender wrote.
    let value = Object.hasOwn(record, field) ? record[field] : undefined;
    if (value === null && spec.optional?.includes(field) === true) value = undefined;
    target[field] = value;
  }
  if (spec.versioned && target['v'] === undefined) target['v'] = PROTOCOL_VERSION;
  spec.finish?.(message, record, problems);
  // A missing field gets one clear problem, not the validators' complaints about `undefined`.
  const missing = spec.fields.filter((f) => target[f] === undefined && spec.optional?.includes(f) !== true);
  for (const field of missing) problems.push(`${prefix}${field}: is required`);
  problems.push(...ruleProblems(message, prefix, missing));
  if (problems.length > 0) {
    throw InvalidMessageError.of(spec.what, problems);
  }
  return message;
}

/**
 * The problems class-validator finds in `message`, as `path: what is wrong`. The parsers run the same rules
 * compiled (validators.ts); this is for code that holds an instance and wants class-validator's verdict.
 */
export function validationProblems(message: object, prefix = ''): string[] {
  const errors = validateSync(message, {
    stopAtFirstError: true,
    forbidUnknownValues: false,
    validationError: { target: false, value: false },
  });
  const problems: string[] = [];
  const walk = (list: readonly ValidationError[], path: string): void => {
    for (const error of list) {
      const at = `${path}${error.property}`;
      for (const text of Object.values(error.constraints ?? {})) {
        const own = text.startsWith(`${error.property} `) ? text.slice(error.property.length + 1) : text;
        problems.push(`${at}: ${own}`);
      }
      if (error.children !== undefined) walk(error.children, `${at}.`);
    }
  };
  walk(errors, prefix);
  return problems;
}

/** `value` as a record when it is a plain object (or an instance of one of `ctors`), else an InvalidMessageError. */
export function objectOf(value: unknown, what: string, path: string, ctors: ReadonlyArray<new () => object> = []): Record<string, unknown> {
  if (isRecordLike(value, ctors)) return value;
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'a non-plain object' : `a ${typeof value}`;
  throw InvalidMessageError.of(what, [`${path === '' ? 'body' : path}: must be a JSON object, not ${kind}`]);
}

function isRecordLike(value: unknown, ctors: ReadonlyArray<new () => object>): value is Record<string, unknown> {
  return isPlainObject(value) || (typeof value === 'object' && value !== null && ctors.some((c) => value instanceof c));
}

/**
 * `value` as JSON: as is when it already is JSON, else what a JSON round trip makes of it (Dates become text,
 * undefined fields vanish), so builders accept what a handler naturally returns. Throws InvalidMessageError
 * naming `path` when the value cannot travel at all (a BigInt, a cycle).
 */
export function toJsonValue(value: unknown, path: string, what: string): JsonValue {
  if (value === undefined) return null;
  if (isJsonValue(value)) return value;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw InvalidMessageError.of(what, [`${path}: cannot be sent as JSON (${clip(err instanceof Error ? err.message : 'unserialisable', 120)})`]);
  }
  if (text === undefined) return null;
  const parsed = JSON.parse(text) as unknown;
  if (!isJsonValue(parsed)) throw InvalidMessageError.of(what, [`${path}: is too large or too deep to send`]);
  return parsed;
}

function asInvalid(err: unknown, what: string): InvalidMessageError {
  if (err instanceof InvalidMessageError) return err;
  // Inputs handed over in memory can be hostile (throwing getters, Proxies, revoked objects): report, never crash.
  let reason = 'unreadable value';
  try {
    if (err instanceof Error) reason = err.message;
  } catch {
    // keep the generic reason
  }
  return InvalidMessageError.of(what, [`body could not be read (${clip(reason, 120)})`], { cause: err });
}

function tooLarge(what: string, bytes: number): InvalidMessageError {
  return InvalidMessageError.of(what, [`body is ${bytes} bytes, more than the ${MAX_MESSAGE_BYTES} allowed`]);
}

/** A field name quoted for a problem line, shortened so a hostile 1 MiB key cannot flood logs. */
export function fieldName(name: string): string {
  return JSON.stringify(clip(name, 64));
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
