import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { SharedConfig } from '#runtime';

/** The scheduler's environment (DESIGN 3.5). */
export class SchedulerConfig extends SharedConfig {
  /** Replica identity in the leader lease and logs; generated when unset. */
  @IsOptional() @Matches(/^[A-Za-z0-9_:-]{1,64}$/, { message: 'must be 1 to 64 letters, digits, _, : or -' })
  MESH_SCHEDULER_ID?: string;

  /**
   * The leader lease: the leader renews it every third of this; a replica takes over when it has seen the same
   * lease unchanged this long, so a dead leader is replaced within 2 x this (ARCHITECTURE "Scheduler").
   */
  @IsInt() @Min(300) @Max(600_000) MESH_SCHEDULER_LEASE_MS: number = 10_000;

  /** Missed occurrences older than this are never fired by `fire-once` / `fire-all` (1 hour). */
  @IsInt() @Min(0) @Max(7 * 86_400_000) MESH_SCHEDULER_CATCHUP_MS: number = 3_600_000;

  /** Dispatches stored at most; a create beyond it is refused OVERLOADED. */
  @IsInt() @Min(1) @Max(1_000_000) MESH_SCHEDULER_MAX_DISPATCHES: number = 10_000;
}
