import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InvalidMessageError, NotifyMessage, PROTOCOL_VERSION, WorkerEventMessage, type TaskOffer } from '@taskmesh/protocol';
import { offerTraits, placeDirect, WorkerRegistry, type Placeable, type TaskTraits, type WorkerView } from '@taskmesh/client';
import { MESH_BUS, type MeshBus } from '@taskmesh/nats';
import { APP_CONFIG, counter, gauge, HealthRegistry, METRICS } from '@taskmesh/runtime';
import type { Registry } from 'prom-client';
import type { RouterConfig } from '../router.config.js';

/**
 * The I/O shell around WorkerRegistry: feeds it validated NOTIFY beats with this process's monotonic time, runs
 * the expiry sweep, publishes `joined` / `expired` worker events, and remembers every task ever offered
 * (the tasks bucket), so UNKNOWN_TASK means "never offered", even right after this replica starts.
 */
@Injectable()
export class RegistryService implements OnModuleInit, OnApplicationShutdown {
  private readonly log = new Logger(RegistryService.name);
  private readonly workers: WorkerRegistry;
  /** Every task ever offered, with what its last offer declared. */
  private readonly everOffered = new Map<string, TaskTraits>();
  private readonly expiredListeners: Array<(worker: string) => void> = [];
  private sweep?: NodeJS.Timeout;
  private stopWatch?: () => void;
  private readonly invalid;
  private readonly events;
  private readonly live;

  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(APP_CONFIG) private readonly config: RouterConfig,
    @Inject(METRICS) metrics: Registry,
    health: HealthRegistry,
  ) {
    this.workers = new WorkerRegistry(config.MESH_EXPIRES_AFTER_MS);
    this.invalid = counter(metrics, 'taskmesh_invalid_messages_total', 'Inbound messages that failed validation', ['kind']);
    this.events = counter(metrics, 'taskmesh_worker_events_total', 'Worker joined/expired events', ['event']);
    this.live = gauge(metrics, 'taskmesh_router_live_workers', 'Live workers in this router replica\'s registry');
    health.register('nats', () => ({ ok: bus.isConnected() }));
  }

  async onModuleInit(): Promise<void> {
    const learn = (offer: TaskOffer): void => void this.everOffered.set(offer.task, offerTraits(offer));
    for (const offer of await this.bus.tasks.offers()) learn(offer);
    this.stopWatch = await this.bus.tasks.watch(learn, {
      onInvalid: (task, err) => {
        this.invalid.inc({ kind: 'TASK_OFFER' });
        this.log.warn({ msg: 'invalid task offer ignored', task, problems: err instanceof InvalidMessageError ? err.problems : String(err) });
      },
      onError: (err) => this.log.error({ msg: 'tasks watch failed', err: String(err) }),
    });
    // Sweep often enough that a silent worker is expired within a fraction of a period after its expiry.
    const every = Math.max(25, Math.floor(this.config.MESH_NOTIFY_PERIOD_MS / 4));
    this.sweep = setInterval(() => this.expire(), every);
    // Ask every worker to announce itself now rather than within a period.
    this.bus.publish(this.bus.subjects.notifyRequest(), '{}');
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweep);
    this.stopWatch?.();
  }

  /** Records a NOTIFY; an invalid one is counted and logged, and never creates an entry. */
  observe(data: Uint8Array): void {
    let notify: NotifyMessage;
    try {
      notify = NotifyMessage.parse(data);
    } catch (err) {
      this.invalid.inc({ kind: 'NOTIFY' });
      this.log.warn({ msg: 'invalid NOTIFY ignored', problems: err instanceof InvalidMessageError ? err.problems : String(err) });
      return;
    }
    for (const task of notify.tasks) if (!this.everOffered.has(task)) this.everOffered.set(task, { idempotent: false });
    const { joined } = this.workers.observe(notify, performance.now());
    if (joined) this.announce('joined', notify.worker);
    this.live.set(this.workers.size);
  }

  /** Whether `task` was ever offered by a worker (live now, or recorded in the tasks bucket). */
  knows(task: string): boolean {
    return this.everOffered.has(task) || this.workers.offers(task);
  }

  /** What `task`'s last offer declared (undefined: not known yet). */
  traitsOf(task: string): TaskTraits | undefined {
    return this.everOffered.get(task);
  }

  /** The live worker for a direct request of `task` (see placeDirect), or undefined when none qualifies. */
  placeDirect(task: string, key: string | undefined, exclude: ReadonlySet<string>): Placeable | undefined {
    return placeDirect(this.workers.placeable(), task, key, exclude);
  }

  /** Counts a direct request sent to `worker` towards its load. */
  noteSent(worker: string): void {
    this.workers.noteSent(worker);
  }

  /** Calls `listener` with the id of every worker this replica expires. */
  onExpired(listener: (worker: string) => void): void {
    this.expiredListeners.push(listener);
  }

  list(): WorkerView[] {
    return this.workers.list(performance.now());
  }

  private expire(): void {
    for (const worker of this.workers.expire(performance.now())) {
      this.log.warn({ msg: 'worker expired', worker: worker.id, silentMs: Math.round(performance.now() - worker.lastSeenAt) });
      this.announce('expired', worker.id);
      for (const listener of this.expiredListeners) listener(worker.id);
    }
    this.live.set(this.workers.size);
  }

  private announce(event: 'joined' | 'expired', worker: string): void {
    this.events.inc({ event });
    if (event === 'joined') this.log.log({ msg: 'worker joined', worker });
    const message = WorkerEventMessage.create(event, worker);
    this.bus.publish(this.bus.subjects.workerEvent(worker), JSON.stringify(message));
  }
}

/** The `mesh.workers.list` reply. */
export const workersListReply = (workers: WorkerView[]): { v: typeof PROTOCOL_VERSION; workers: WorkerView[] } => ({ v: PROTOCOL_VERSION, workers });
