import { DispatchMessage } from './dispatch.message.js';
import { envelope } from './dispatch-reply.message.js';
import { InvalidMessageError } from './errors.js';
import { PROTOCOL_VERSION } from './version.js';

/** The reply of `<p>.dispatches.list`: `{v, dispatches}`, ordered by id. */
export class DispatchListReplyMessage {
  readonly v = PROTOCOL_VERSION;

  constructor(readonly dispatches: DispatchMessage[]) {}

  /** Reads a list reply (every dispatch validated); throws InvalidMessageError listing what is wrong. */
  static parse(raw: unknown): DispatchListReplyMessage {
    const list = envelope(raw, 'dispatch list reply', ['v', 'dispatches'])['dispatches'];
    if (!Array.isArray(list)) throw InvalidMessageError.of('dispatch list reply', ['dispatches: must be an array']);
    return new DispatchListReplyMessage(list.map((d) => DispatchMessage.parse(d)));
  }
}
