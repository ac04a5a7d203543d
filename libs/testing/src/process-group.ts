import { ChildAppProcess } from './app-process.js';

/** Anything a suite starts and must stop: an AppProcess, a NatsServer, or your own. */
export interface Stoppable {
  stop(timeoutMs?: number): Promise<unknown>;
}

/**
 * What one suite started, stopped together in `afterAll`: apps first (in parallel, so each can still drain to
 * NATS), then everything else (servers). Stopping never throws half-way: every member is stopped, then the
 * failures (if any) are reported together.
 */
export class ProcessGroup {
  private readonly members = new Set<Stoppable>();

  /** Adds a member and returns it, so `const w = group.add(spawnApp(...))` reads naturally. */
  add<T extends Stoppable>(member: T): T {
    this.members.add(member);
    return member;
  }

  /** Forgets a member the test already stopped (stopping twice is harmless anyway). */
  delete(member: Stoppable): void {
    this.members.delete(member);
  }

  /** Stops every member (apps with `timeoutMs` each before SIGKILL) and empties the group. */
  async stopAll(timeoutMs?: number): Promise<void> {
    const all = [...this.members];
    this.members.clear();
    const apps = all.filter((m) => m instanceof ChildAppProcess);
    const rest = all.filter((m) => !(m instanceof ChildAppProcess));
    const failures: unknown[] = [];
    for (const wave of [apps, rest]) {
      const outcomes = await Promise.allSettled(wave.map((m) => m.stop(timeoutMs)));
      for (const o of outcomes) if (o.status === 'rejected') failures.push(o.reason);
    }
    if (failures.length > 0) throw new AggregateError(failures, `${failures.length} process(es) did not stop cleanly`);
  }
}
