import { parseMessage, type MessageSpec } from './codec.js';
import { asValidationFailure, dropUndefined } from './dispatch.message.js';
import { TASK_NAME_PATTERN } from './limits.js';
import { IsIntBetween, MatchesPattern, Optional } from './validators.js';

/** Most dispatches one list reply carries. */
export const MAX_DISPATCH_LIST_LIMIT = 1_000;
/** Dispatches a list reply carries when the caller gives no limit. */
export const DEFAULT_DISPATCH_LIST_LIMIT = 100;

/** The body of `<p>.dispatches.list`: `{task?, limit?}` (`{}` lists the first 100, by id). */
export class DispatchListRequest {
  /** Only the dispatches of this task. */
  @Optional()
  @MatchesPattern(TASK_NAME_PATTERN)
  task?: string;

  /** 1..MAX_DISPATCH_LIST_LIMIT, default DEFAULT_DISPATCH_LIST_LIMIT. */
  @IsIntBetween(1, MAX_DISPATCH_LIST_LIMIT)
  limit!: number;

  /** Reads a list body; VALIDATION_FAILED naming the bad field, BAD_REQUEST when the body is unreadable. */
  static parse(raw: unknown): DispatchListRequest {
    return asValidationFailure('dispatch list request', raw, (r) => parseMessage(r, LIST_SPEC));
  }
}

const LIST_SPEC: MessageSpec<DispatchListRequest> = {
  what: 'dispatch list request',
  ctor: DispatchListRequest,
  fields: ['task', 'limit', 'v'],
  optional: ['task', 'v'],
  versioned: true,
  versionOptional: true,
  finish: (r) => {
    delete (r as { v?: unknown }).v;
    if (r.limit === undefined || (r.limit as unknown) === null) r.limit = DEFAULT_DISPATCH_LIST_LIMIT;
    dropUndefined(r, ['task']);
  },
};
