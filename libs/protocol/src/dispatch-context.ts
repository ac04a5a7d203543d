import { readNested, type MessageSpec } from './codec.js';
import { DISPATCH_ID_PATTERN } from './limits.js';
import { IsBool, IsIsoInstant, MatchesPattern, Optional } from './validators.js';

/**
 * Which scheduled occurrence an invocation is (docs/PROTOCOL.md section 4.8): set by the scheduler on its submits, carried in the
 * REQUEST, and shown to the task as `ctx.dispatch`.
 */
export class DispatchContext {
  /** The dispatch's id. */
  @MatchesPattern(DISPATCH_ID_PATTERN)
  id!: string;

  /** The occurrence's start (ISO-8601). */
  @IsIsoInstant()
  occurrence!: string;

  /** The occurrence's end (start + duration), when the dispatch has a duration. */
  @Optional()
  @IsIsoInstant()
  until?: string;

  /** A dry run: the task should do everything but the effect. */
  @IsBool()
  dryRun!: boolean;
}

const DISPATCH_CONTEXT_SPEC: MessageSpec<DispatchContext> = {
  what: 'dispatch context',
  ctor: DispatchContext,
  fields: ['id', 'occurrence', 'until', 'dryRun'],
  optional: ['until'],
  versioned: false,
};

/** Reads a `dispatch` field; pushes problems, returns undefined when absent or bad. */
export function readDispatchContext(value: unknown, path: string, problems: string[]): DispatchContext | undefined {
  if (value === undefined || value === null) return undefined;
  return readNested(value, DISPATCH_CONTEXT_SPEC, path, problems);
}
