import { createHash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';
import { readNested, type MessageSpec } from './codec.js';
import { INVOCATION_ID_PATTERN, MAX_CALL_DEPTH, TASK_NAME_PATTERN } from './limits.js';
import { MatchesPattern } from './validators.js';

/** Length of an arguments digest in hex characters (96 bits: collisions are not a practical concern). */
export const ARGS_DIGEST_LENGTH = 24;

const ARGS_DIGEST_PATTERN = new RegExp(`^[0-9a-f]{${ARGS_DIGEST_LENGTH}}$`);

/**
 * The digest of a task's arguments: the same JSON value gives the same digest whatever the order of its object
 * keys. Identifies "the same call" for cycle detection and registration concurrency.
 */
export function argsDigest(args: unknown): string {
  return createHash('sha256').update(stringify(args ?? null) ?? 'null').digest('hex').slice(0, ARGS_DIGEST_LENGTH);
}

/**
 * One invocation in a call chain: who called, with which task and arguments (as a digest). A child call carries
 * the chain of its ancestors, the caller last; a call whose task and arguments equal an ancestor's would wait on
 * itself, so it fails at once with CYCLE_DETECTED.
 */
export class CallLink {
  /** The ancestor's invocation id. */
  @MatchesPattern(INVOCATION_ID_PATTERN)
  id!: string;

  /** The ancestor's task. */
  @MatchesPattern(TASK_NAME_PATTERN)
  task!: string;

  /** argsDigest of the ancestor's arguments. */
  @MatchesPattern(ARGS_DIGEST_PATTERN)
  digest!: string;
}

const LINK_SPEC: MessageSpec<CallLink> = {
  what: 'call link',
  ctor: CallLink,
  fields: ['id', 'task', 'digest'],
  versioned: false,
};

/** Reads a `chain` field (array of CallLink, at most MAX_CALL_DEPTH); pushes problems, returns undefined when bad. */
export function readCallChain(value: unknown, path: string, problems: string[]): CallLink[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    problems.push(`${path}: must be an array of {id, task, digest}`);
    return undefined;
  }
  if (value.length > MAX_CALL_DEPTH) {
    problems.push(`${path}: a call chain is at most ${MAX_CALL_DEPTH} deep (runaway recursion?)`);
    return undefined;
  }
  const before = problems.length;
  const links = value.map((v, i) => readNested(v, LINK_SPEC, `${path}[${i}]`, problems));
  return problems.length === before ? (links as CallLink[]) : undefined;
}

/** The link in the chain equal to `task` + `digest`, if any: a call that would form a cycle. */
export function cycleIn(chain: readonly CallLink[] | undefined, task: string, digest: string): CallLink | undefined {
  return chain?.find((l) => l.task === task && l.digest === digest);
}
