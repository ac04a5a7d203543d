import type { SchedulerState } from '#nats';
import { decideLease, type LeaseObservation } from './lease-decision.js';

/** What the lease tells its owner. */
export interface LeaseHooks {
  onGained(): void;
  onLost(): void;
  onError(err: unknown): void;
}

/**
 * Keeps (or waits for) the scheduler's leader lease in the scheduler bucket: a step every leaseMs / 3 reads the
 * lease and creates, renews or takes it over by revision-checked writes (decideLease). Leadership lasts until
 * leaseMs after the start of the last successful renewal, measured on this process's monotonic clock, so a leader
 * cut off from NATS stops acting before anyone else may take over.
 */
export class LeaderLease {
  private timer?: NodeJS.Timeout;
  private observed?: LeaseObservation;
  private revision?: number;
  private leadingUntil = 0;
  private leading = false;
  private busy = false;
  private stopped = false;

  constructor(
    private readonly state: SchedulerState,
    private readonly me: string,
    private readonly leaseMs: number,
    private readonly hooks: LeaseHooks,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.step(), Math.max(100, Math.floor(this.leaseMs / 3)));
    void this.step();
  }

  /** True while this replica holds an unexpired lease. */
  isLeader(): boolean {
    return this.leading && this.now() < this.leadingUntil;
  }

  /** Stops renewing and gives the lease up (if held), so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const revision = this.revision;
    const wasLeading = this.leading;
    this.setLeading(false);
    if (wasLeading && revision !== undefined) await this.state.releaseLease(revision).catch((err: unknown) => this.hooks.onError(err));
  }

  private async step(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    const startedAt = this.now();
    try {
      const current = await this.state.readLease();
      const step = decideLease(this.me, this.leaseMs, startedAt, current, this.observed);
      if (step.do === 'wait') {
        this.observed = step.observed;
        this.setLeading(false);
        return;
      }
      const value = { holder: this.me, renewedAt: new Date().toISOString() };
      const revision = step.do === 'create' ? await this.state.createLease(value) : await this.state.updateLease(value, step.revision);
      if (this.stopped) return;
      if (revision === undefined) {
        // Someone else wrote it first: watch the new revision from scratch.
        this.observed = undefined;
        this.setLeading(false);
        return;
      }
      this.revision = revision;
      this.leadingUntil = startedAt + this.leaseMs;
      this.setLeading(true);
    } catch (err) {
      this.hooks.onError(err);
      if (!this.isLeader()) this.setLeading(false);
    } finally {
      this.busy = false;
    }
  }

  private setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    if (leading) this.hooks.onGained();
    else this.hooks.onLost();
  }
}
