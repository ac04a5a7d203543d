import { Subjects } from './subjects.js';

/**
 * The first part of every JetStream stream and bucket name of a mesh, derived from its subject prefix: upper case,
 * dots becoming underscores (`mesh` -> `MESH`, `a.b` -> `A_B`). Stream names cannot contain dots; the prefix's
 * tokens are already free of `*`, `>` and whitespace (Subjects validates them). Shared by the apps' topology
 * (libs/nats/src/topology.ts) and the clients that read a stream by name.
 */
export function jetStreamBase(prefix: string): string {
  return new Subjects(prefix).prefix.toUpperCase().replaceAll('.', '_');
}

/** The invocation event stream of a mesh, `<BASE>_EVENTS` (subjects `<p>.events.invocation.>`). */
export function eventStreamName(prefix: string): string {
  return `${jetStreamBase(prefix)}_EVENTS`;
}
