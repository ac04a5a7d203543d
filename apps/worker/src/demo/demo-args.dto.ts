import { IsBoolean, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/** `sleep`: wait `ms`, emitting a progress event at each of `steps` steps. */
export class SleepArgs {
  @IsInt() @Min(0) @Max(3_600_000) ms!: number;
  @IsOptional() @IsInt() @Min(1) @Max(10_000) steps?: number;
}

/** `fail`: throw `message` until attempt `untilAttempt` (then succeed); `retryable` marks the failure. */
export class FailArgs {
  @IsOptional() @IsString() @MaxLength(10_000) message?: string;
  @IsOptional() @IsBoolean() retryable?: boolean;
  @IsOptional() @IsInt() @Min(1) @Max(1000) untilAttempt?: number;
}

/** `spin`: keep the CPU busy for `ms` (a synchronous loop that blocks the event loop). */
export class SpinArgs {
  @IsInt() @Min(0) @Max(600_000) ms!: number;
}
