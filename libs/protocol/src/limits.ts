/**
 * Bounds and defaults of the wire contract. Each default says why it has its value; apps may override the
 * `DEFAULT_*` ones through their config, never the `MAX_*` ones (those are what peers rely on).
 */

/** Deadline of a call when the caller gives none: long enough for ordinary tasks, short enough to notice a stall. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** The longest deadline a caller may ask for (one day): work older than that is better scheduled than waited on. */
export const MAX_TIMEOUT_MS = 86_400_000;

/** How often a worker publishes NOTIFY: taskflow's period, frequent enough to expire a dead worker in seconds. */
export const DEFAULT_NOTIFY_PERIOD_MS = 5_000;

/** Silence after which a worker is expired: three notify periods, so one or two lost beats never expire a live worker. */
export const DEFAULT_EXPIRES_AFTER_MS = 15_000;

/** Largest body accepted (1 MiB): nats-server's default `max_payload`, so nothing larger could travel anyway. */
export const MAX_MESSAGE_BYTES = 1_048_576;

/** Invocation ids appear as subject tokens (`mesh.reply.<router>.<id>`), so no `.`, `*`, `>` or spaces. */
export const INVOCATION_ID_PATTERN = /^[A-Za-z0-9_:-]{1,128}$/;

/** Task names are subject tokens and JetStream consumer name parts (`work_<task>`), hence the narrower charset. */
export const TASK_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Worker ids are subject tokens (`mesh.worker.<id>`, `mesh.events.worker.<id>`). */
export const WORKER_ID_PATTERN = /^[A-Za-z0-9_:-]{1,64}$/;

/** Longest `key` (ordering key): long enough for composite business keys, short enough to hash and log. */
export const MAX_KEY_LENGTH = 256;

/**
 * Key shards (MESH_KEY_SHARDS): keyed work is spread over this many ordered queues (`keyShard`). More shards, fewer
 * unrelated keys waiting behind each other; each costs a JetStream consumer and an open pull on its owner worker.
 */
export const DEFAULT_KEY_SHARDS = 16;

/** Most key shards a mesh may be configured with. */
export const MAX_KEY_SHARDS = 1_024;

/** Most tasks one worker may offer in a NOTIFY, so a NOTIFY stays small and the registry bounded. */
export const MAX_TASKS_PER_WORKER = 1_024;

/** Longest `eventType` of a progress EVENT: it is a label for dashboards, not a payload. */
export const MAX_EVENT_TYPE_LENGTH = 64;

/** Longest subject a NOTIFY may name as its topic. */
export const MAX_SUBJECT_LENGTH = 512;

/**
 * Deepest nesting accepted in any JSON value (args, results, details). Legitimate payloads are far shallower;
 * the bound keeps a hostile `[[[[...]]]]` from overflowing the stack of whoever stringifies it next.
 */
export const MAX_JSON_DEPTH = 128;

/**
 * Most nodes walked when checking a value handed over in memory: a 1 MiB JSON text has fewer, and the bound
 * stops an object graph with shared children from making the walk exponential.
 */
export const MAX_JSON_NODES = 1_048_576;

/** Longest failure message: room for a stack-free explanation; longer text is cut (the code is what matters). */
export const MAX_FAILURE_MESSAGE_LENGTH = 65_536;

/** A dispatch id (scheduler): a subject token, and short enough that `dispatch:<id>:<epoch ms>` is an invocation id. */
export const DISPATCH_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Longest call chain (a task calling a task calling ...): deeper chains are refused as runaway recursion. */
export const MAX_CALL_DEPTH = 32;
