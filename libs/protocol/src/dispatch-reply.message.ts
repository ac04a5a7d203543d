import { decodeBody, objectOf } from './codec.js';
import { DispatchMessage } from './dispatch.message.js';
import { InvalidMessageError, ProtocolVersionError } from './errors.js';
import { PROTOCOL_VERSION } from './version.js';

/** The reply of `<p>.dispatches.create|update|get`: `{v, dispatch}`. */
export class DispatchReplyMessage {
  readonly v = PROTOCOL_VERSION;

  constructor(readonly dispatch: DispatchMessage) {}

  /** Reads a reply (the dispatch fully validated); throws InvalidMessageError listing what is wrong. */
  static parse(raw: unknown): DispatchReplyMessage {
    const body = envelope(raw, 'dispatch reply', ['v', 'dispatch']);
    return new DispatchReplyMessage(DispatchMessage.parse(body['dispatch']));
  }
}

/**
 * The JSON object of a reply envelope with exactly `fields` and `v` = PROTOCOL_VERSION (ProtocolVersionError
 * otherwise, InvalidMessageError for anything else wrong). Shared by the dispatch replies.
 */
export function envelope(raw: unknown, what: string, fields: readonly string[]): Record<string, unknown> {
  const body = objectOf(decodeBody(raw, what), what, '');
  if (body['v'] !== PROTOCOL_VERSION) throw new ProtocolVersionError(body['v'] ?? null);
  const problems = Object.keys(body).filter((k) => !fields.includes(k)).map((k) => `unknown field ${JSON.stringify(k.slice(0, 64))}`);
  for (const f of fields) if (body[f] === undefined) problems.push(`${f}: is required`);
  if (problems.length > 0) throw InvalidMessageError.of(what, problems);
  return body;
}
