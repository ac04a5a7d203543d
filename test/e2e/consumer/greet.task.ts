// The external worker's task definition, shared by the worker (greeter.worker.ts) and its callers.
import { IsString, MaxLength } from 'class-validator';
import { defineTask } from '@taskmesh/worker';

export class GreetArgs {
  @IsString() @MaxLength(100) name!: string;
}

export interface Greeting {
  greeting: string;
  worker: string;
}

export const greetTask = defineTask<GreetArgs, Greeting>('greet', GreetArgs);
