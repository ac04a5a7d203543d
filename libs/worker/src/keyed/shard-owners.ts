import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { NotifyMessage, type Subjects } from '@taskmesh/protocol';
import { LiveWorkers, ownedShards } from '@taskmesh/worker-core';

/** What ShardOwners needs; the callbacks never throw into it. */
export interface ShardOwnersOptions {
  nc: NatsConnection;
  subjects: Subjects;
  /** This worker's id. */
  self: string;
  /** MESH_KEY_SHARDS. */
  shards: number;
  /** MESH_EXPIRES_AFTER_MS: a worker silent this long no longer owns shards. */
  expiresAfterMs: number;
  /** MESH_NOTIFY_PERIOD_MS: the view is checked four times a period. */
  notifyPeriodMs: number;
  /** Monotonic milliseconds. */
  now(): number;
  /** The shards this worker owns changed (called once at start, then on every change). */
  owned(shards: number[]): void;
  /** A NOTIFY that is not valid was ignored. */
  invalid(err: unknown): void;
}

/**
 * Decides which key shards this worker pulls: it hears every worker's NOTIFY on `<p>.notify` (validated at the
 * edge), ages them on its own clock as the router does, and owns the shards that rendezvous hashing gives it among
 * the live workers that offer tasks (`ownedShards`; a draining worker beats with none). Views of different workers may differ for a moment while a worker joins or
 * expires: two may pull one shard, which is harmless (its consumer hands out one message at a time), or none may,
 * until the expiry is noticed (docs/ARCHITECTURE.md, "Keyed order").
 */
export class ShardOwners {
  private readonly live: LiveWorkers;
  private sub?: Subscription;
  private timer?: NodeJS.Timeout;
  private current?: string;

  constructor(private readonly options: ShardOwnersOptions) {
    this.live = new LiveWorkers(options.expiresAfterMs);
  }

  /** Starts listening, asks every worker to beat now, and reports the first view at once. */
  start(): void {
    const o = this.options;
    this.sub = o.nc.subscribe(o.subjects.notify(), {
      callback: (_err, msg) => {
        let notify: NotifyMessage;
        try {
          notify = NotifyMessage.parse(msg.data);
        } catch (err) {
          o.invalid(err);
          return;
        }
        const known = this.live.has(notify.worker);
        if (notify.tasks.length === 0) {
          // Offers nothing (it is draining): it owns no shard from now on.
          if (known && notify.worker !== o.self) {
            this.live.forget(notify.worker);
            this.check();
          }
          return;
        }
        this.live.heard(notify.worker, o.now());
        // A worker that joins moves shards at once; beats of known workers change nothing until one expires.
        if (!known) this.check();
      },
    });
    this.timer = setInterval(() => this.check(), Math.max(25, Math.floor(o.notifyPeriodMs / 4)));
    o.nc.publish(o.subjects.notifyRequest(), '{}');
    this.check();
  }

  stop(): void {
    clearInterval(this.timer);
    this.sub?.unsubscribe();
  }

  private check(): void {
    const o = this.options;
    this.live.expire(o.now());
    const shards = ownedShards(o.self, this.live.ids(), o.shards);
    const key = shards.join(',');
    if (key === this.current) return;
    this.current = key;
    o.owned(shards);
  }
}
