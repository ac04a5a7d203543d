import { DISPATCH_ID_PATTERN } from './dispatch.message.js';
import { envelope } from './dispatch-reply.message.js';
import { InvalidMessageError } from './errors.js';
import { PROTOCOL_VERSION } from './version.js';

/** The reply of `<p>.dispatches.delete`: `{v, deleted: <id>}`. */
export class DispatchDeletedReplyMessage {
  readonly v = PROTOCOL_VERSION;

  constructor(readonly deleted: string) {}

  /** Reads a delete reply; throws InvalidMessageError when it is not one. */
  static parse(raw: unknown): DispatchDeletedReplyMessage {
    const deleted = envelope(raw, 'dispatch deleted reply', ['v', 'deleted'])['deleted'];
    if (typeof deleted !== 'string' || !DISPATCH_ID_PATTERN.test(deleted)) throw InvalidMessageError.of('dispatch deleted reply', [`deleted: must match ${String(DISPATCH_ID_PATTERN)}`]);
    return new DispatchDeletedReplyMessage(deleted);
  }
}
