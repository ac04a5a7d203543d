import { invocationProgress, RequestMessage } from '@taskmesh/protocol';
import type { MeshBus } from '@taskmesh/nats';
import type { StimulusInput } from '../dispatcher/worker-dispatcher.js';

type WorkReceivedInput = Extract<StimulusInput, { type: 'work-received' }>;
type PullEndedInput = Extract<StimulusInput, { type: 'pull-ended' }>;

/** Whether an invocation started before (a worker reported it running, or it is over). */
export type StartedBefore = (invocationId: string) => Promise<boolean>;

/**
 * Hands the puller's events (deliveries, pull ends) to the core in the order they happened, while a redelivery
 * waits for one fact the core needs and cannot know: did this invocation start before? (Work that started is
 * carried to its outcome past its deadline; work that never started is not started after it.) A first delivery
 * needs no look-up and goes straight through when nothing waits ahead of it. Bounded: only delivered messages
 * wait, and the worker never holds more of them than its free slots.
 */
export class DeliveryFeed {
  private readonly queue: Array<{ input?: StimulusInput }> = [];

  constructor(
    private readonly feed: (input: StimulusInput) => void,
    private readonly startedBefore: StartedBefore,
    private readonly wallNow: () => number = Date.now,
  ) {}

  /** A pulled message arrived. */
  delivered(input: WorkReceivedInput): void {
    const id = input.deliveryCount > 1 ? invocationIdOf(input.data) : undefined;
    if (id === undefined) return this.pass(input);
    const entry: { input?: StimulusInput } = {};
    this.queue.push(entry);
    this.startedBefore(id).then(
      (started) => (entry.input = { ...input, startedBefore: started, wallNow: this.wallNow() }),
      // Unreadable now: a redelivery is most often of work that ran (its worker was lost), and recovery must not
      // turn it into TIMEOUT; a never-started one past its deadline then runs late rather than failing wrongly.
      () => (entry.input = { ...input, startedBefore: true, wallNow: this.wallNow() }),
    ).finally(() => this.flush());
  }

  /** A pull ended (its reservations are free once the deliveries before it are fed). */
  ended(input: PullEndedInput): void {
    this.pass(input);
  }

  private pass(input: StimulusInput): void {
    if (this.queue.length === 0) return this.feed(input);
    this.queue.push({ input });
  }

  private flush(): void {
    while (this.queue[0]?.input !== undefined) this.feed(this.queue.shift()!.input!);
  }
}

/** The look-up on NATS: the invocation's record and the last event reported about it. */
export function startedBeforeOn(bus: MeshBus): StartedBefore {
  return async (id) => {
    const [stored, last] = await Promise.all([bus.invocations.get(id), bus.events.last(id)]);
    const progress = invocationProgress(stored?.record, last);
    return progress.kind === 'started' || progress.kind === 'final';
  };
}

/** The invocation id of a REQUEST, or undefined for an invalid one (the core refuses it without a look-up). */
function invocationIdOf(data: Uint8Array): string | undefined {
  try {
    return RequestMessage.parse(data).id;
  } catch {
    return undefined;
  }
}
