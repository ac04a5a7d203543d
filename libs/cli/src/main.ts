#!/usr/bin/env node
// The `taskmesh` command: the program of program.ts on the real MeshClient. Ctrl-C aborts the command (a second
// one exits at once); the process exits with the status runCli resolves.
import { MeshClient } from '@taskmesh/client';
import { EXIT_INTERRUPTED } from './exit-codes.js';
import { runCli } from './program.js';

const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(EXIT_INTERRUPTED);
  interrupt.abort();
});

const code = await runCli(process.argv.slice(2), {
  connect: (options) => MeshClient.connect(options),
  stdout: process.stdout,
  stderr: process.stderr,
  interrupt: interrupt.signal,
});
// Exit once stdout is flushed: a stream or connection left open must not keep the shell waiting.
process.stdout.write('', () => process.exit(code));
