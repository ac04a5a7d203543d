import { IsInt, Max, Min } from 'class-validator';
import { SharedConfig } from '#runtime';

/** The orchestrator's environment (docs/PROTOCOL.md section 9). */
export class OrchestratorConfig extends SharedConfig {
  /** Final invocation records are deleted this long after they finished (7 days). */
  @IsInt() @Min(1000) @Max(31_536_000_000) MESH_PURGE_AFTER_MS: number = 7 * 86_400_000;

  /** How often expired waiting work and old records are looked for. */
  @IsInt() @Min(100) @Max(3_600_000) MESH_SWEEP_EVERY_MS: number = 5000;
}
