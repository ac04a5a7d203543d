import { MAX_JSON_DEPTH, MAX_JSON_NODES } from './limits.js';

/** Any value JSON can carry. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** A JSON object. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * Why `value` is not a JSON value within MAX_JSON_DEPTH / MAX_JSON_NODES, or undefined when it is one.
 * Values that JSON.stringify would silently change (undefined, NaN, functions, Dates, class instances,
 * sparse arrays) are refused: what is checked must be exactly what travels.
 */
export function jsonProblem(value: unknown): string | undefined {
  // Most values are fine: check without building paths, and walk again with paths only to explain a refusal.
  return isJsonFast(value) ? undefined : explainJson(value);
}

// Iterative on purpose: a recursive walk is the stack overflow the depth bound exists to prevent.
function isJsonFast(root: unknown): boolean {
  const values: unknown[] = [root];
  const depths: number[] = [0];
  let nodes = 0;
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop()!;
    if (++nodes > MAX_JSON_NODES) return false;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return false;
      continue;
    }
    if (typeof v !== 'object' || depth >= MAX_JSON_DEPTH) return false;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) return false;
        values.push(v[i]);
        depths.push(depth + 1);
      }
      continue;
    }
    if (!isPlainObject(v)) return false;
    for (const key of Object.keys(v)) {
      values.push((v as Record<string, unknown>)[key]);
      depths.push(depth + 1);
    }
  }
  return true;
}

function explainJson(value: unknown): string {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: '' }];
  let nodes = 0;
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (++nodes > MAX_JSON_NODES) return `has more than ${MAX_JSON_NODES} values`;
    const v = item.value;
    const at = item.path === '' ? '' : ` at ${item.path}`;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return `is not JSON${at} (${String(v)} is not a JSON number)`;
      continue;
    }
    if (typeof v !== 'object') return `is not JSON${at} (a ${typeof v})`;
    if (item.depth >= MAX_JSON_DEPTH) return `is nested deeper than ${MAX_JSON_DEPTH} levels`;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) return `is not JSON${at} (sparse array)`;
        stack.push({ value: v[i], depth: item.depth + 1, path: `${item.path}[${i}]` });
      }
      continue;
    }
    if (!isPlainObject(v)) return `is not JSON${at} (a ${describe(v)})`;
    for (const key of Object.keys(v)) {
      stack.push({ value: (v as Record<string, unknown>)[key], depth: item.depth + 1, path: item.path === '' ? key : `${item.path}.${key}` });
    }
  }
  return 'is not JSON';
}

/** True when `value` is a JSON value (see jsonProblem). */
export function isJsonValue(value: unknown): value is JsonValue {
  return isJsonFast(value);
}

/** True when `value` is a JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return isPlainObject(value) && isJsonFast(value);
}

/** True for `{...}` literals and `Object.create(null)`: no class instances, arrays, Maps or Dates. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: object): string {
  const proto: unknown = Object.getPrototypeOf(value);
  const ctor = typeof proto === 'object' && proto !== null ? (proto as { constructor?: unknown }).constructor : undefined;
  return typeof ctor === 'function' && typeof ctor.name === 'string' && ctor.name !== '' ? ctor.name : 'non-plain object';
}
