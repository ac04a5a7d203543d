import { runWorker } from '@taskmesh/worker';
import { DemoTasks } from './demo/demo.tasks.js';
import { StockWorkerConfig } from './stock-worker.config.js';

// The stock worker, served as any worker built from @taskmesh/worker is: the demo tasks when MESH_DEMO_TASKS=true.
await runWorker({ name: 'worker', config: StockWorkerConfig, tasks: (config) => (config.MESH_DEMO_TASKS === 'true' ? [DemoTasks] : []) });
