// A typed caller: the external worker's task through the installed @taskmesh/client, its result typed by the
// definition it shares with the worker (greet.task.ts). Prints the greeting.
import { MeshClient } from '@taskmesh/client';
import { greetTask, type Greeting } from './greet.task.js';

const client = await MeshClient.connect({ servers: process.env['NATS_URL'], user: process.env['NATS_USER'], password: process.env['NATS_PASSWORD'] });
try {
  const greeted: Greeting = await client.call(greetTask, { name: 'Grace' });
  process.stdout.write(`${JSON.stringify(greeted)}\n`);
} finally {
  await client.close();
}
