import { argsDigest } from './call-link.js';
import { DELIVERIES, type Delivery } from './call-request.js';
import { parseMessage, readNested, type MessageSpec } from './codec.js';
import { isPlainObject } from './json.js';
import { TASK_NAME_PATTERN, WORKER_ID_PATTERN } from './limits.js';
import { IsBool, IsConstant, IsIsoInstant, IsOneOf, IsStringArray, MatchesPattern, Optional } from './validators.js';
import { PROTOCOL_VERSION } from './version.js';

/**
 * What "the same invocation" means for a concurrency control (pynenc's ConcurrencyControlType), declared on the
 * task: nothing (`none`), the task alone (`task`), the task and all its arguments (`args`), or the task and the
 * declared key arguments (`keys`).
 */
export const ConcurrencyScope = {
  None: 'none',
  Task: 'task',
  Args: 'args',
  Keys: 'keys',
} as const;

/** One of the concurrency scopes. */
export type ConcurrencyScope = (typeof ConcurrencyScope)[keyof typeof ConcurrencyScope];

const SCOPES: readonly ConcurrencyScope[] = Object.values(ConcurrencyScope);

/** Most key arguments a task may declare. */
export const MAX_KEY_ARGS = 16;

/** An argument name usable as a key argument. */
const ARG_NAME_PATTERN = /^[A-Za-z0-9_$-]{1,64}$/;

/**
 * A task's concurrency controls (after pynenc). Registration: a call while an invocation in the same scope is live
 * reuses it (the caller gets that invocation's id and outcome). Running: at most one invocation in the same scope
 * runs at a time; the others wait, holding no worker slot.
 */
export class TaskConcurrency {
  /** Scope of registration concurrency (default none). */
  @IsOneOf(SCOPES)
  registration!: ConcurrencyScope;

  /** Scope of running concurrency (default none). */
  @IsOneOf(SCOPES)
  running!: ConcurrencyScope;

  /** The argument names that make the key for the `keys` scope (top-level fields of an object `args`). */
  @IsStringArray(ARG_NAME_PATTERN, MAX_KEY_ARGS)
  keyArgs!: string[];

  /** Validated controls with defaults (none, none, []); throws InvalidMessageError naming the bad field. */
  static create(fields: Partial<Pick<TaskConcurrency, 'registration' | 'running' | 'keyArgs'>> = {}): TaskConcurrency {
    return parseMessage({ ...fields }, CONCURRENCY_SPEC);
  }
}

const CONCURRENCY_SPEC: MessageSpec<TaskConcurrency> = {
  what: 'task concurrency',
  ctor: TaskConcurrency,
  fields: ['registration', 'running', 'keyArgs'],
  optional: ['registration', 'running', 'keyArgs'],
  versioned: false,
  finish: (c, _record, problems) => {
    c.registration ??= ConcurrencyScope.None;
    c.running ??= ConcurrencyScope.None;
    c.keyArgs ??= [];
    const usesKeys = c.registration === ConcurrencyScope.Keys || c.running === ConcurrencyScope.Keys;
    if (usesKeys && Array.isArray(c.keyArgs) && c.keyArgs.length === 0) problems.push('keyArgs: the keys scope needs at least one key argument');
  },
};

/**
 * The claim key of an invocation under one control, or undefined when the scope is `none`. Same key = "the same
 * invocation" for that control: `reg.<task>[.<digest>]` for registration, `run.<task>[.<digest>]` for running.
 */
export function concurrencyKey(control: 'reg' | 'run', task: string, args: unknown, concurrency: TaskConcurrency | undefined): string | undefined {
  const scope = control === 'reg' ? concurrency?.registration : concurrency?.running;
  switch (scope) {
    case undefined:
    case ConcurrencyScope.None:
      return undefined;
    case ConcurrencyScope.Task:
      return `${control}.${task}`;
    case ConcurrencyScope.Args:
      return `${control}.${task}.${argsDigest(args)}`;
    case ConcurrencyScope.Keys: {
      const record = isPlainObject(args) ? (args as Record<string, unknown>) : {};
      const keys = Object.fromEntries((concurrency?.keyArgs ?? []).map((k) => [k, Object.hasOwn(record, k) ? record[k] : null]));
      return `${control}.${task}.${argsDigest(keys)}`;
    }
  }
}

/**
 * A worker's offer of a task, as written to the tasks bucket (key = task; the last offer wins): any router knows
 * every task ever offered, and the task's concurrency controls.
 */
export class TaskOffer {
  /** Protocol version (PROTOCOL_VERSION). */
  @IsConstant(PROTOCOL_VERSION)
  v!: typeof PROTOCOL_VERSION;

  /** The task offered. */
  @MatchesPattern(TASK_NAME_PATTERN)
  task!: string;

  /** The worker that offered it last. */
  @MatchesPattern(WORKER_ID_PATTERN)
  worker!: string;

  /** When (ISO-8601). */
  @IsIsoInstant()
  at!: string;

  /** The task's concurrency controls (absent: none). */
  @Optional()
  concurrency?: TaskConcurrency;

  /** The task may run again after its worker was lost mid-run: a direct call is then re-sent (absent: false). */
  @Optional()
  @IsBool()
  idempotent?: boolean;

  /** How a call that names no delivery is delivered (absent: durable). */
  @Optional()
  @IsOneOf(DELIVERIES)
  delivery?: Delivery;

  /** Reads an offer from bytes, JSON text or a parsed value; throws InvalidMessageError listing every problem. */
  static parse(raw: unknown): TaskOffer {
    return parseMessage(raw, OFFER_SPEC);
  }

  /** A validated offer; `at` defaults to now. */
  static create(fields: { task: string; worker: string; at?: string; concurrency?: TaskConcurrency; idempotent?: boolean; delivery?: Delivery }): TaskOffer {
    return parseMessage({ v: PROTOCOL_VERSION, ...fields, at: fields.at ?? new Date().toISOString() }, OFFER_SPEC);
  }
}

const OFFER_SPEC: MessageSpec<TaskOffer> = {
  what: 'task offer',
  ctor: TaskOffer,
  fields: ['v', 'task', 'worker', 'at', 'concurrency', 'idempotent', 'delivery'],
  optional: ['concurrency', 'idempotent', 'delivery'],
  versioned: true,
  finish: (offer, record, problems) => {
    const raw = record['concurrency'];
    offer.concurrency = raw === undefined || raw === null ? undefined : readNested(raw, CONCURRENCY_SPEC, 'concurrency', problems);
  },
};
