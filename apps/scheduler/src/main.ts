import { isNatsUnreachable } from '#nats';
import { runApp } from '#runtime';
import { SchedulerConfig } from './scheduler.config.js';
import { SchedulerModule } from './scheduler.module.js';

await runApp({
  name: 'scheduler',
  config: SchedulerConfig,
  module: (config) => SchedulerModule.forRoot(config),
  isUnavailable: isNatsUnreachable,
});
