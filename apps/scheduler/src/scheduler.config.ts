import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { SharedConfig } from '@taskmesh/runtime';

/** The scheduler's environment (docs/PROTOCOL.md section 9). */
export class SchedulerConfig extends SharedConfig {
  /** Occurrences missed longer ago than this are never fired after an outage, whatever the misfire policy (1 h). */
  @IsInt() @Min(0) @Max(31 * 86_400_000) MESH_SCHEDULER_CATCHUP_MS: number = 3_600_000;

  /**
   * The leader lease: renewed every third of it; a dead leader's replicas take over within about 1.3 x this.
   */
  @IsInt() @Min(500) @Max(600_000) MESH_SCHEDULER_LEASE_MS: number = 5000;

  /** Dispatches stored at most (create answers OVERLOADED beyond). */
  @IsInt() @Min(1) @Max(1_000_000) MESH_MAX_DISPATCHES: number = 10_000;

  /** This replica's name in the lease (default: generated). */
  @IsOptional() @Matches(/^[A-Za-z0-9_-]{1,64}$/) MESH_SCHEDULER_ID?: string;
}
