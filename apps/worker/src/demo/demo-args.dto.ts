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

/** `report`: build a (pretend) report on `name` for `ms`; one per name at a time, later callers share it. */
export class ReportArgs {
  @IsString() @MaxLength(200) name!: string;
  @IsInt() @Min(0) @Max(3_600_000) ms!: number;
}

/** `exclusive`: hold `resource` for `ms`; one at a time per resource, across all workers. */
export class ExclusiveArgs {
  @IsString() @MaxLength(200) resource!: string;
  @IsInt() @Min(0) @Max(3_600_000) ms!: number;
}

/** `fanout`: call `sleep {ms}` `count` times at once as child calls and return their results. */
export class FanoutArgs {
  @IsInt() @Min(1) @Max(100) count!: number;
  @IsInt() @Min(0) @Max(3_600_000) ms!: number;
}

/** `chain`: call `chain {depth: depth - 1}` down to 0; there, with `cycleTo`, call `chain {depth: cycleTo, cycleTo}` (a cycle). */
export class ChainArgs {
  @IsInt() @Min(0) @Max(30) depth!: number;
  @IsOptional() @IsInt() @Min(0) @Max(30) cycleTo?: number;
}
