import { Inject, Injectable } from '@nestjs/common';
import { FailureCode, failureOf, invocationProgress, MeshError, recordResponse, ResponseMessage, type InvocationProgress } from '@taskmesh/protocol';
import { MESH_BUS, type MeshBus } from '@taskmesh/nats';
import { EventWatch } from './event-watch.js';

/** Repeats (and registration reuses) followed at once by one router replica at most; past it: OVERLOADED. */
export const MAX_FOLLOWING = 20_000;
/**
 * Pauses between two reads of the record and the last event while following an invocation. The event
 * subscription answers at once in the ordinary case; the reads catch what it cannot see: an outcome written to
 * the record without an event (the janitor's TIMEOUT), or an event the stream had not stored yet when it was read.
 */
export const RECHECK_MS: readonly number[] = [50, 250, 1000, 2000];

/** An invocation's progress, with the newest attempt its record knows of. */
interface Read {
  progress: InvocationProgress;
  attempts: number;
}

/**
 * Answers for invocations accepted earlier (a repeated id, a registration reuse): their outcome, read from the
 * record, the events stream and the live events, whichever has it first. Also tells the call path whether an
 * invocation whose call ran out of time has started (then the call waits for its outcome).
 */
@Injectable()
export class OutcomeFollower {
  private following = 0;

  constructor(@Inject(MESH_BUS) private readonly bus: MeshBus) {}

  /** How far the invocation got (record and last event, read together). */
  async progress(id: string): Promise<InvocationProgress> {
    return (await this.read(id)).progress;
  }

  /** For a repeated submit: the outcome when final, else the current state. */
  async current(id: string): Promise<ResponseMessage> {
    const [stored, last] = await Promise.all([this.bus.invocations.get(id), this.bus.events.last(id)]);
    if (!stored) throw new MeshError(FailureCode.INTERNAL, `invocation ${id} exists but could not be read`);
    const progress = invocationProgress(stored.record, last);
    return progress.kind === 'final' ? progress.response : recordResponse(stored.record);
  }

  /**
   * For a repeated call: the outcome, waiting for it. Gives up with TIMEOUT only when `timeoutMs` has passed and
   * the invocation has not started; one that started is followed to its outcome (a lost worker's work is recovered).
   */
  async follow(id: string, timeoutMs: number): Promise<ResponseMessage> {
    if (this.following >= MAX_FOLLOWING) throw new MeshError(FailureCode.OVERLOADED, `router is following ${MAX_FOLLOWING} invocations; retry later`);
    this.following += 1;
    const watch = new EventWatch(this.bus, this.bus.subjects.invocationEvent(id));
    try {
      // Once the server has the subscription, every later event reaches it and every earlier one is in the stream
      // (or, for a moment, only in the record): no final event can slip between the reads and the subscription.
      await this.bus.flush();
      const until = performance.now() + timeoutMs;
      for (let round = 0; ; round++) {
        const { progress, attempts } = await this.read(id);
        if (progress.kind === 'final') return progress.response;
        if (progress.kind === 'unknown' && round === 0) throw new MeshError(FailureCode.INTERNAL, `invocation ${id} exists but could not be read`);
        watch.fence(attempts);
        const left = until - performance.now();
        if (left <= 0 && progress.kind !== 'started') {
          return ResponseMessage.failure(id, failureOf(new MeshError(FailureCode.TIMEOUT, `invocation ${id} (accepted earlier) did not start within ${timeoutMs} ms`)));
        }
        const pause = RECHECK_MS[Math.min(round, RECHECK_MS.length - 1)];
        const event = await watch.next(progress.kind === 'started' ? pause : Math.min(pause, Math.max(0, left)));
        if (event) return event;
      }
    } finally {
      watch.close();
      this.following -= 1;
    }
  }

  private async read(id: string): Promise<Read> {
    const [stored, last] = await Promise.all([this.bus.invocations.get(id), this.bus.events.last(id)]);
    return { progress: invocationProgress(stored?.record, last), attempts: stored?.record.attempts ?? 0 };
  }
}
