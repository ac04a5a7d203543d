import { IsInt, Min } from 'class-validator';
import { ConfigError } from './config.error.js';
import { loadConfig } from './load-config.js';
import { SharedConfig } from './shared.config.js';

class WorkerLikeConfig extends SharedConfig {
  @IsInt() @Min(1) MESH_WORKER_CONCURRENCY: number = 8;
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(WorkerLikeConfig, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe(loadConfig.name, () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig(WorkerLikeConfig, {});
    expect(config).toMatchObject({
      NATS_URL: 'nats://127.0.0.1:4222', MESH_PREFIX: 'mesh', LOG_LEVEL: 'info',
      MESH_NOTIFY_PERIOD_MS: 5000, MESH_EXPIRES_AFTER_MS: 15000, MESH_WORKER_CONCURRENCY: 8,
    });
    expect(config).toBeInstanceOf(WorkerLikeConfig);
  });

  it('converts numbers and keeps strings', () => {
    const config = loadConfig(WorkerLikeConfig, { MESH_WORKER_CONCURRENCY: '3', NATS_URL: 'nats://a:1,nats://b:2', MESH_PREFIX: 'acme.mesh' });
    expect(config.MESH_WORKER_CONCURRENCY).toBe(3);
    expect(config.NATS_URL).toBe('nats://a:1,nats://b:2');
    expect(config.MESH_PREFIX).toBe('acme.mesh');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig(WorkerLikeConfig, { NATS_USER: '', MESH_WORKER_CONCURRENCY: '' }).MESH_WORKER_CONCURRENCY).toBe(8);
  });

  it.each([
    ['MESH_WORKER_CONCURRENCY', 'abc'],
    ['MESH_WORKER_CONCURRENCY', '0'],
    ['MESH_WORKER_CONCURRENCY', '1.5'],
    ['NATS_URL', 'localhost:4222'],
    ['MESH_PREFIX', 'a.*'],
    ['MESH_PREFIX', 'has space'],
    ['LOG_LEVEL', 'loud'],
    ['MESH_NOTIFY_PERIOD_MS', '-5'],
    ['MESH_HTTP_PORT', '70000'],
  ])('names %s when it is %j', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(name);
    expect(problems[0]).toContain(JSON.stringify(value));
  });

  it('reports every bad variable at once', () => {
    expect(problemsOf({ LOG_LEVEL: 'loud', MESH_WORKER_CONCURRENCY: 'x' }).join('\n')).toMatch(/LOG_LEVEL[\s\S]*MESH_WORKER_CONCURRENCY|MESH_WORKER_CONCURRENCY[\s\S]*LOG_LEVEL/);
  });

  it('refuses an expiry shorter than three notify periods', () => {
    const problems = problemsOf({ MESH_NOTIFY_PERIOD_MS: '1000', MESH_EXPIRES_AFTER_MS: '2999' });
    expect(problems).toEqual([expect.stringContaining('MESH_EXPIRES_AFTER_MS must be at least 3 x MESH_NOTIFY_PERIOD_MS')]);
    expect(loadConfig(WorkerLikeConfig, { MESH_NOTIFY_PERIOD_MS: '1000', MESH_EXPIRES_AFTER_MS: '3000' }).MESH_EXPIRES_AFTER_MS).toBe(3000);
  });

  it('refuses a password without a user', () => {
    expect(problemsOf({ NATS_PASSWORD: 's3cret' })).toEqual(['NATS_PASSWORD is set but NATS_USER is not']);
  });
});
