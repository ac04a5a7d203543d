import { SharedConfig } from '#runtime';

/** The orchestrator's environment (DESIGN 3.5). */
export class OrchestratorConfig extends SharedConfig {}
