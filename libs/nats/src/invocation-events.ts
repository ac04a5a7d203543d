import type { JetStreamManager } from '@nats-io/jetstream';
import { ResponseMessage, type Subjects } from '@taskmesh/protocol';

/** The events stream read back: what was last reported about an invocation. */
export interface InvocationEvents {
  /**
   * The last event stored on `mesh.events.invocation.<id>` (RUNNING, a progress EVENT, WAITING after a failed
   * attempt, or the final RESPONSE), undefined when there is none or it is not a valid RESPONSE. It can be ahead of
   * the invocation's record: the orchestrator writes the record after it consumed the event.
   */
  last(id: string): Promise<ResponseMessage | undefined>;
}

/** InvocationEvents on the events stream declared by the topology (one `STREAM.MSG.GET` by last subject). */
export class StreamInvocationEvents implements InvocationEvents {
  constructor(
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly subjects: Subjects,
  ) {}

  async last(id: string): Promise<ResponseMessage | undefined> {
    const stored = await this.jsm.streams.getMessage(this.stream, { last_by_subj: this.subjects.invocationEvent(id) });
    if (!stored) return undefined;
    try {
      return ResponseMessage.parse(stored.data);
    } catch {
      // Not ours to judge: the orchestrator counts invalid events.
      return undefined;
    }
  }
}
