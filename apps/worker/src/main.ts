import { runWorker } from '@taskmesh/worker';
import { DemoTasks } from './demo/demo.tasks.js';

// The stock worker: the demo tasks, served as any worker built from @taskmesh/worker is.
await runWorker({ name: 'worker', tasks: [DemoTasks] });
