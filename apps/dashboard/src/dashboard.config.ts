import { IsInt, IsString, Max, Min } from 'class-validator';
import { SharedConfig } from '@taskmesh/runtime';

/** The dashboard's environment (docs/PROTOCOL.md section 9). */
export class DashboardConfig extends SharedConfig {
  /** Where the web UI and its API listen; 0 picks a free port (logged as `url` at start). */
  @IsInt() @Min(0) @Max(65_535) MESH_DASHBOARD_PORT: number = 8090;
  /** Loopback by default: the dashboard can cancel and delete, so it is not on the network unless asked. */
  @IsString() MESH_DASHBOARD_HOST = '127.0.0.1';
  /** How often the live workers are read and pushed (their heartbeat ages move every period). */
  @IsInt() @Min(250) @Max(60_000) MESH_DASHBOARD_WORKERS_MS: number = 1000;
  /** How often the apps' `$SRV.STATS` are read for the charts. */
  @IsInt() @Min(500) @Max(60_000) MESH_DASHBOARD_STATS_MS: number = 2000;
}
