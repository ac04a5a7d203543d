import { BaseRpcContext } from '@nestjs/microservices';
import type { Msg } from '@nats-io/transport-node';

/** The context a Mesh transport handler receives: the raw NATS message (subject, headers, reply). */
export class MeshContext extends BaseRpcContext<[Msg]> {
  constructor(msg: Msg) {
    super([msg]);
  }

  getMessage(): Msg {
    return this.args[0];
  }

  getSubject(): string {
    return this.args[0].subject;
  }

  /** A header of the message, if it has it. */
  getHeader(name: string): string | undefined {
    return this.args[0].headers?.get(name) || undefined;
  }
}
