import type { MeshClientApi, MeshConnectOptions } from '@taskmesh/client';

/** Where the CLI writes: a Node writable (the bar needs one) that may be a terminal. */
export type CliStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/**
 * What the program needs from outside: a way to connect (main.ts wires MeshClient.connect, tests a fake client),
 * its two output streams and the Ctrl-C signal. Nothing else reaches the process.
 */
export interface CliDeps {
  connect(options: MeshConnectOptions): Promise<MeshClientApi>;
  stdout: CliStream;
  stderr: CliStream;
  /** Aborted by Ctrl-C: streams and watches stop, waits give up (a `call` cancels its invocation). */
  interrupt?: AbortSignal;
}
