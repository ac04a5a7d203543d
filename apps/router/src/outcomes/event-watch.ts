import { ResponseMessage } from '@taskmesh/protocol';
import type { MeshBus } from '@taskmesh/nats';

/**
 * The final event of one invocation as it is published on `mesh.events.invocation.<id>`, fenced by attempt: a
 * final event from an attempt older than the newest one known (a frozen worker's late result) is not its outcome.
 * Holds at most one candidate; `next(ms)` resolves it, or undefined when `ms` pass first.
 */
export class EventWatch {
  private readonly unsubscribe: () => void;
  private final?: ResponseMessage;
  private newestAttempt = 0;
  private wake?: () => void;

  constructor(bus: Pick<MeshBus, 'subscribe'>, subject: string) {
    this.unsubscribe = bus.subscribe(subject, (msg) => this.onEvent(msg.data));
  }

  /** The record (or the stream) knows of attempt `n`: results of older attempts are not the outcome. */
  fence(attempt: number): void {
    this.newestAttempt = Math.max(this.newestAttempt, attempt);
  }

  /** The final event seen so far (fenced), else waits up to `ms` for one. */
  async next(ms: number): Promise<ResponseMessage | undefined> {
    const now = this.current();
    if (now || ms <= 0) return now;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
    return this.current();
  }

  close(): void {
    this.unsubscribe();
    this.wake?.();
  }

  private current(): ResponseMessage | undefined {
    const f = this.final;
    return f && (f.attempt === undefined || f.attempt >= this.newestAttempt) ? f : undefined;
  }

  private onEvent(data: Uint8Array): void {
    let event: ResponseMessage;
    try {
      event = ResponseMessage.parse(data);
    } catch {
      return; // Not ours to judge here: the orchestrator counts invalid events.
    }
    if (event.attempt !== undefined && !event.isFinal) this.fence(event.attempt);
    if (!event.isFinal) return;
    this.final = event;
    if (this.current()) this.wake?.();
  }
}
