// An external worker, built from the installed @taskmesh/worker alone: one task of its own, served to the mesh.
import { Injectable } from '@nestjs/common';
import { Task, runWorker, type TaskContext } from '@taskmesh/worker';
import { greetTask, type GreetArgs, type Greeting } from './greet.task.js';

@Injectable()
class GreetTasks {
  @Task(greetTask, { timeoutMs: 5000 })
  greet(args: GreetArgs, ctx: TaskContext): Greeting {
    return { greeting: `Hello, ${args.name}`, worker: ctx.workerId };
  }
}

await runWorker({ name: 'greeter', tasks: [GreetTasks] });
