import { ProtocolHandler } from '@nats-io/nats-core/internal';

/**
 * Fewer socket writes under load, for nats.js 3.4.0 (`@nats-io/nats-core`). nats.js buffers what a connection
 * sends and writes the buffer out in a microtask after the first send into an empty buffer. A process that answers
 * messages through promise chains (every app here) then writes once per few messages: the flush microtask runs
 * between the chains' own steps. Each write is a system call, about a tenth of the router's CPU in a profile at 64
 * calls in flight. This schedules that flush with `setImmediate` instead: everything sent in one turn of the event
 * loop (all the messages of the socket reads just processed, their promise chains, the timers that fired) leaves in
 * one write, right after the turn. What is sent, and its order, do not change; a full buffer is still written at once,
 * and `flush()` / `close()` still write at once.
 *
 * Installed only on the code it was written against (pinned in package.json): on another version it changes
 * nothing and says so.
 */
const EXPECTED = /this\.outbound\.fill\(buf, \.\.\.payloads\);\s*if \(len === 0\) \{\s*queueMicrotask\(\(\) => \{\s*this\.flushPending\(\);\s*\}\);\s*\}\s*else if \(this\.outbound\.size\(\) >= this\.pendingLimit\) \{\s*\/\/ flush inline\s*this\.flushPending\(\);\s*\}/;

interface ProtocolInternals {
  outbound: { length(): number; size(): number; fill(data: Uint8Array, ...payloads: Uint8Array[]): void };
  pendingLimit: number;
  flushPending(): void;
  sendCommand(cmd: string | Uint8Array, ...payloads: Uint8Array[]): void;
}

const encoder = new TextEncoder();
let installed: boolean | undefined;

/** Installs the change once per process; true when it is in place. */
export function installWriteBatching(): boolean {
  if (installed !== undefined) return installed;
  const proto = ProtocolHandler.prototype as unknown as ProtocolInternals;
  installed = EXPECTED.test(proto.sendCommand.toString());
  if (!installed) return false;
  proto.sendCommand = function sendCommand(this: ProtocolInternals, cmd: string | Uint8Array, ...payloads: Uint8Array[]): void {
    const len = this.outbound.length();
    this.outbound.fill(typeof cmd === 'string' ? encoder.encode(cmd) : cmd, ...payloads);
    if (len === 0) setImmediate(() => this.flushPending());
    else if (this.outbound.size() >= this.pendingLimit) this.flushPending();
  };
  return true;
}
