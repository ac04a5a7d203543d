import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { ConfigError } from './config.error.js';

type Env = Record<string, string | undefined>;

/**
 * Builds and validates an app's config from environment variables. The config class names its properties after
 * the variables (`NATS_URL`, ...), declares defaults as initialisers (or, for a default that follows another
 * variable, in a `deriveDefaults()` method) and rules with class-validator; the result
 * is the only place an app reads its environment. Throws ConfigError naming every bad variable.
 */
export function loadConfig<T extends object>(cls: new () => T, env: Env = process.env): T {
  const defaults = new cls() as Record<string, unknown>;
  const raw: Record<string, unknown> = {};
  for (const name of Object.keys(defaults)) {
    const value = env[name];
    // An empty variable means "not set" (compose files often pass VAR= for optional values).
    if (value !== undefined && value !== '') raw[name] = value;
  }
  const config = plainToInstance(cls, raw, { exposeDefaultValues: true, enableImplicitConversion: true });
  // A default that follows another variable (e.g. the ack wait follows the expiry) is filled in once it is read.
  const derive = (config as { deriveDefaults?: () => void }).deriveDefaults;
  if (typeof derive === 'function') derive.call(config);
  const problems = flatten(validateSync(config, { forbidUnknownValues: false }), env);
  const crossCheck = (config as { check?: () => string[] }).check;
  if (typeof crossCheck === 'function') problems.push(...crossCheck.call(config));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function flatten(errors: ValidationError[], env: Env): string[] {
  return errors.map((e) => {
    const got = env[e.property];
    const rules = Object.values(e.constraints ?? {}).join(', ');
    return `${e.property} ${rules}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
  });
}
