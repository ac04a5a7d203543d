import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { DEFAULT_EXPIRES_AFTER_MS, DEFAULT_KEY_SHARDS, DEFAULT_NOTIFY_PERIOD_MS, MAX_KEY_SHARDS } from '@taskmesh/protocol';

/** Log levels pino understands, most verbose first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** Variables every taskmesh process reads (docs/PROTOCOL.md section 9). Property names are the variable names. */
export class SharedConfig {
  /** Comma-separated server URLs. */
  @Matches(/^(nats|tls|ws|wss):\/\/[^\s,]+(,(nats|tls|ws|wss):\/\/[^\s,]+)*$/, { message: 'must be nats://host:port (comma-separated for a cluster)' })
  NATS_URL = 'nats://127.0.0.1:4222';

  @IsOptional() @IsString() NATS_USER?: string;
  @IsOptional() @IsString() NATS_PASSWORD?: string;
  /** A NATS token, as an alternative to user/password. */
  @IsOptional() @IsString() NATS_TOKEN?: string;
  /** Path of a NATS credentials file (JWT + nkey), as an alternative to user/password. */
  @IsOptional() @IsString() NATS_CREDS?: string;
  /** Path of a file holding an nkey seed (`SU...`), as an alternative to user/password. */
  @IsOptional() @IsString() NATS_NKEY_SEED?: string;
  /** Path of the CA certificate (PEM) that signed the server's: connect with TLS. */
  @IsOptional() @IsString() NATS_TLS_CA?: string;

  /** How many times to try the first connection before giving up (then the process exits). */
  @IsInt() @Min(1) @Max(1000) NATS_CONNECT_ATTEMPTS: number = 20;
  @IsInt() @Min(10) @Max(60_000) NATS_CONNECT_DELAY_MS: number = 500;

  /** Copies of every stream and bucket (1 on one NATS server; 3 on a 3-node JetStream cluster). All apps must agree. */
  @IsInt() @Min(1) @Max(5) MESH_REPLICAS: number = 1;

  @Matches(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, { message: 'must be dot-separated tokens of letters, digits, _ or -' })
  MESH_PREFIX = 'mesh';

  @IsIn(LOG_LEVELS) LOG_LEVEL: (typeof LOG_LEVELS)[number] = 'info';

  @IsInt() @Min(50) @Max(600_000) MESH_NOTIFY_PERIOD_MS: number = DEFAULT_NOTIFY_PERIOD_MS;
  @IsInt() @Min(150) @Max(3_600_000) MESH_EXPIRES_AFTER_MS: number = DEFAULT_EXPIRES_AFTER_MS;

  /**
   * JetStream's `Nats-Msg-Id` window on the work stream (it stores a retried publish once). Lasting dedup by
   * invocation id is the orchestrator's records', so this only bounds the server's memory of recent ids.
   */
  @IsInt() @Min(100) @Max(86_400_000) MESH_DEDUP_WINDOW_MS: number = 120_000;

  /**
   * Key shards: keyed work (a call's `key`) is queued in one of this many ordered queues (`keyShard`). Routers and
   * workers must agree on it; change it only with no keyed work queued (docs/PROTOCOL.md, configuration).
   */
  @IsInt() @Min(1) @Max(MAX_KEY_SHARDS) MESH_KEY_SHARDS: number = DEFAULT_KEY_SHARDS;

  /**
   * The events stream keeps every reported state change this long at most (and MESH_EVENTS_MAX_BYTES), oldest
   * first out. Every app declares the stream, so all must agree. It bounds how long an orchestrator may be down
   * and still record what happened meanwhile (docs/ARCHITECTURE.md, "Retention and sizing").
   */
  @IsInt() @Min(10_000) @Max(31_536_000_000) MESH_EVENTS_MAX_AGE_MS: number = 86_400_000;
  @IsInt() @Min(1_048_576) @Max(1_099_511_627_776) MESH_EVENTS_MAX_BYTES: number = 1_073_741_824;

  /** Port of the health and metrics endpoint; 0 picks a free one (logged at start). */
  @IsInt() @Min(0) @Max(65_535) MESH_HTTP_PORT: number = 0;
  @IsString() MESH_HTTP_HOST = '0.0.0.0';

  /** Cross-field rules; loadConfig adds what this returns to the problems. */
  check(): string[] {
    const problems: string[] = [];
    // A worker is declared dead only after missing three beats, so one late beat never expires it.
    if (this.MESH_EXPIRES_AFTER_MS < 3 * this.MESH_NOTIFY_PERIOD_MS) {
      problems.push(`MESH_EXPIRES_AFTER_MS must be at least 3 x MESH_NOTIFY_PERIOD_MS (${3 * this.MESH_NOTIFY_PERIOD_MS})`);
    }
    if (this.NATS_PASSWORD !== undefined && this.NATS_USER === undefined) problems.push('NATS_PASSWORD is set but NATS_USER is not');
    const methods = (['NATS_USER', 'NATS_TOKEN', 'NATS_CREDS', 'NATS_NKEY_SEED'] as const).filter((v) => this[v] !== undefined);
    if (methods.length > 1) problems.push(`${methods.join(' and ')} are set: choose one way to authenticate`);
    return problems;
  }
}
