import { IsInt, Max, Min } from 'class-validator';
import { DEFAULT_INVOCATIONS_MAX_BYTES } from '@taskmesh/nats';
import { SharedConfig } from '@taskmesh/runtime';

/** The orchestrator's environment (docs/PROTOCOL.md section 9). */
export class OrchestratorConfig extends SharedConfig {
  /** Final records of caller-chosen ids (the lasting dedup) are deleted this long after they finished (7 days). */
  @IsInt() @Min(1000) @Max(31_536_000_000) MESH_PURGE_AFTER_MS: number = 7 * 86_400_000;

  /**
   * Records of generated ids (and of child calls' derived ids, once their parent ended) are deleted this long after
   * their last write, their end (10 minutes: a submit's caller has that long to read the outcome). Never longer
   * than MESH_PURGE_AFTER_MS.
   */
  @IsInt() @Min(1000) @Max(31_536_000_000) MESH_PURGE_GENERATED_AFTER_MS: number = 600_000;

  /**
   * Records kept at most. The janitor removes the oldest final records past 90% of it; at the bound itself the
   * server refuses new records (OVERLOADED), never a live one's update.
   */
  @IsInt() @Min(100) @Max(1_000_000_000) MESH_INVOCATIONS_MAX_RECORDS: number = 1_000_000;

  /** Bytes of records kept at most (1 GiB), enforced like MESH_INVOCATIONS_MAX_RECORDS (by the server only from nats-server 2.10.5). */
  @IsInt() @Min(1_048_576) @Max(1_099_511_627_776) MESH_INVOCATIONS_MAX_BYTES: number = DEFAULT_INVOCATIONS_MAX_BYTES;

  /** How often expired waiting work and old records are looked for. */
  @IsInt() @Min(100) @Max(3_600_000) MESH_SWEEP_EVERY_MS: number = 5000;
}
