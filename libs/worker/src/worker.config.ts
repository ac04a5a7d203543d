import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { SharedConfig } from '@taskmesh/runtime';

/** The worker environment (docs/PROTOCOL.md section 9); a user worker app uses it as is, or extends it with its own variables. */
export class WorkerConfig extends SharedConfig {
  /** Stable identity in NOTIFY and events; generated (host + random) when unset. */
  @IsOptional() @Matches(/^[A-Za-z0-9_:-]{1,64}$/, { message: 'must be 1-64 letters, digits, _, : or -' })
  MESH_WORKER_ID?: string;

  /** How many tasks run at once; also how many messages the worker may hold (it pulls only for free slots). */
  @IsInt() @Min(1) @Max(1024) MESH_WORKER_CONCURRENCY: number = 64;

  /**
   * JetStream redelivers a task whose worker went silent this long; in-progress acks (every third of it, from the
   * heartbeat thread) keep live tasks. Default: MESH_EXPIRES_AFTER_MS, so a lost worker's work restarts elsewhere
   * within about the period after which the worker is declared expired.
   */
  @IsOptional() @IsInt() @Min(1000) @Max(3_600_000) MESH_ACK_WAIT_MS?: number;

  /**
   * Direct requests (sent to this worker's own topic) waiting for a slot, at most; a direct call that would wait
   * beyond it is refused with OVERLOADED at once (0: never wait). Default: 4 x MESH_WORKER_CONCURRENCY.
   */
  @IsOptional() @IsInt() @Min(0) @Max(1_000_000) MESH_DIRECT_QUEUE?: number;

  /** Deliveries before a message is dead-lettered (poison work stops there). */
  @IsInt() @Min(1) @Max(100) MESH_MAX_DELIVER: number = 5;

  /** On SIGTERM, running tasks get this long to finish; the rest are released to other workers. */
  @IsInt() @Min(0) @Max(3_600_000) MESH_DRAIN_TIMEOUT_MS: number = 25_000;

  /** The ack wait follows the expiry unless set (read once, here: the consumer's ack_wait and the worker use it). */
  deriveDefaults(): void {
    this.MESH_ACK_WAIT_MS = ackWaitOf(this);
  }
}

/** The ack wait: MESH_ACK_WAIT_MS when set, else the expiry (at least the ack wait's minimum of 1 s). */
export function ackWaitOf(config: Pick<WorkerConfig, 'MESH_ACK_WAIT_MS' | 'MESH_EXPIRES_AFTER_MS'>): number {
  return config.MESH_ACK_WAIT_MS ?? Math.max(1000, config.MESH_EXPIRES_AFTER_MS);
}
