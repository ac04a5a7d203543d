#!/usr/bin/env node
// The `taskmesh` command: the program of program.ts on the real MeshClient. Ctrl-C aborts the command (a second
// one exits at once); the process exits with the status runCli resolves.
import { runCli } from './program.js';
import { EXIT_INTERRUPTED, EXIT_UNAVAILABLE } from './exit-codes.js';

const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(EXIT_INTERRUPTED);
  interrupt.abort();
});

// MeshClient lands on main with the `client` branch; until then the CLI cannot connect.
const code = await runCli(process.argv.slice(2), {
  connect: () => Promise.reject(Object.assign(new Error('MeshClient is not built yet'), { exitCode: EXIT_UNAVAILABLE })),
  stdout: process.stdout,
  stderr: process.stderr,
  interrupt: interrupt.signal,
});
// Exit now: a stream or connection left open must not keep the shell waiting.
process.stdout.write('', () => process.exit(code));
