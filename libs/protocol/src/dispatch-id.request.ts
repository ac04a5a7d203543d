import { parseMessage, type MessageSpec } from './codec.js';
import { DISPATCH_ID_PATTERN, asValidationFailure } from './dispatch.message.js';
import { MatchesPattern } from './validators.js';

/** The body of `<p>.dispatches.get` and `<p>.dispatches.delete`: `{id}`. */
export class DispatchIdRequest {
  @MatchesPattern(DISPATCH_ID_PATTERN)
  id!: string;

  /** Reads `{id}`; VALIDATION_FAILED naming the bad field, BAD_REQUEST when the body is unreadable. */
  static parse(raw: unknown): DispatchIdRequest {
    return asValidationFailure('dispatch request', raw, (r) => parseMessage(r, ID_SPEC));
  }
}

const ID_SPEC: MessageSpec<DispatchIdRequest> = {
  what: 'dispatch request',
  ctor: DispatchIdRequest,
  fields: ['id', 'v'],
  optional: ['v'],
  versioned: true,
  versionOptional: true,
  finish: (r) => void delete (r as { v?: unknown }).v,
};
