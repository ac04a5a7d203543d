// Types of scripts/cluster-plan.mjs, for the tests that import it.

export declare const NATS_NODE_COUNTS: readonly number[];

export interface NatsNode {
  name: string;
  port: number;
  monitorPort: number;
  routePort: number;
  configFile: string;
  config: string;
}

export declare function natsNodes(options: {
  nodes: number;
  port: number;
  monitorPort: number;
  clusterPort: number;
  dir: string;
  auth: boolean;
}): NatsNode[];

export interface PlannedApp {
  name: string;
  app: string;
  role: string;
  env: Record<string, string>;
}

export declare function appEnvironments(options: {
  workers: number;
  natsUrls: string[];
  replicas: number;
  httpPort: number;
  roleEnv: (role: string) => Record<string, string>;
  env: Record<string, string | undefined>;
}): PlannedApp[];
