import { SharedConfig } from '#runtime';

/** The scheduler's environment (DESIGN 3.5). */
export class SchedulerConfig extends SharedConfig {}
