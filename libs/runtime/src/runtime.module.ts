import { Global, Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Registry } from 'prom-client';
import type { SharedConfig } from './config/shared.config.js';
import { HealthRegistry } from './ops/health.js';

/** Injection token of the app's validated config object. */
export const APP_CONFIG = Symbol('APP_CONFIG');
/** Injection token of the app's Prometheus registry. */
export const METRICS = Symbol('METRICS');
/** Injection token of the app's name (`router`, `worker`, ...). */
export const APP_NAME = Symbol('APP_NAME');

/** Global providers every app has: its config, logger, health checks and metrics registry. */
@Global()
@Module({})
export class RuntimeModule {
  static forRoot(opts: { app: string; config: SharedConfig; metrics: Registry; health: HealthRegistry }): DynamicModule {
    return {
      module: RuntimeModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: opts.config.LOG_LEVEL,
            base: { app: opts.app, pid: process.pid },
            timestamp: () => `,"time":"${new Date().toISOString()}"`,
            // No HTTP request logging: health probes would drown the log.
            autoLogging: false,
          },
        }),
      ],
      providers: [
        { provide: APP_CONFIG, useValue: opts.config },
        { provide: APP_NAME, useValue: opts.app },
        { provide: METRICS, useValue: opts.metrics },
        { provide: HealthRegistry, useValue: opts.health },
      ],
      exports: [APP_CONFIG, APP_NAME, METRICS, HealthRegistry],
    };
  }
}
