/**
 * The call body of docs/PROTOCOL.md section 4.1, and how long the client waits for answers. Pure.
 */
import { nuid } from '@nats-io/transport-node';
import { DEFAULT_EXPIRES_AFTER_MS, InvalidMessageError, MAX_TIMEOUT_MS, type TaskDef } from '@taskmesh/protocol';
import type { CallOptions, TaskRef } from './mesh-client.js';

/** The router answers TIMEOUT for work not started `timeoutMs` plus this after acceptance (its start-report grace). */
export const START_REPORT_GRACE_MS = 1_000;
/**
 * How much longer than the start deadline a call's reply is awaited at least. A durable invocation that started is
 * answered with its outcome however long it runs (section 4.10), and a worker's loss adds about one
 * MESH_ACK_WAIT_MS (by default the expiry, 15 s) before the next attempt: two expiry periods ride one loss out.
 */
export const RECOVERY_ALLOWANCE_MS = 2 * DEFAULT_EXPIRES_AFTER_MS;
/** Deadline of the mesh's request-reply APIs (get, list, cancel, workers, dispatches...), and the margin of `wait`. */
export const REQUEST_TIMEOUT_MS = 10_000;

/**
 * How long `call` waits for the router's answer: `timeoutMs` plus the router's grace (an unstarted call is answered
 * TIMEOUT by then), plus as long again for a started invocation to end, at least RECOVERY_ALLOWANCE_MS. Past it the
 * call rejects with MeshTimeoutError although the invocation may still run (only a router lost mid-call, or a run
 * longer than that, gets there): follow it by id (`wait`, `events`) or call with your own `id` and ask again.
 */
export function callReplyTimeoutMs(timeoutMs: number): number {
  return timeoutMs + START_REPORT_GRACE_MS + Math.max(timeoutMs, RECOVERY_ALLOWANCE_MS);
}

/** The task's name, from its definition or as given. */
export function taskName(task: TaskRef<unknown, unknown>): string {
  return typeof task === 'string' ? task : task.name;
}

/** The call's delivery: the option, else the definition's declared one (a name alone declares nothing). */
export function deliveryOf(task: TaskRef<unknown, unknown>, options: CallOptions): CallOptions['delivery'] {
  return options.delivery ?? (typeof task === 'string' ? undefined : (task as TaskDef).delivery);
}

/**
 * The invocation id a call sends: the caller's, else, for a call that can be cancelled in the mesh (it has a signal
 * and is not direct), one chosen here in the router's own form (`inv-` + a NUID), so its record is purged as soon as a
 * generated one (docs/PROTOCOL.md 4.7, retention). Choosing it costs the dedup path: the router records the
 * invocation before queueing it (one more write) and such a call is always durable. Otherwise none: the router picks.
 */
export function chosenId(options: Pick<CallOptions, 'id' | 'signal'>, delivery: CallOptions['delivery']): string | undefined {
  if (options.id !== undefined) return options.id;
  return options.signal !== undefined && delivery !== 'direct' ? `inv-${nuid.next()}` : undefined;
}

/**
 * The JSON call body; BAD_REQUEST (InvalidMessageError) when `args` cannot be JSON or `timeoutMs` is out of range
 * (checked here too: NaN would travel as `null`, which means "the default").
 */
export function callBody(args: unknown, fields: { id?: string; key?: string; timeoutMs: number; delivery?: CallOptions['delivery'] }): string {
  if (!Number.isInteger(fields.timeoutMs) || fields.timeoutMs < 1 || fields.timeoutMs > MAX_TIMEOUT_MS) {
    throw InvalidMessageError.of('call request', [`timeoutMs: must be an integer from 1 to ${MAX_TIMEOUT_MS}`]);
  }
  const body = {
    args: args === undefined ? null : args,
    timeoutMs: fields.timeoutMs,
    ...(fields.id === undefined ? {} : { id: fields.id }),
    ...(fields.key === undefined ? {} : { key: fields.key }),
    ...(fields.delivery === undefined ? {} : { delivery: fields.delivery }),
  };
  try {
    return JSON.stringify(body);
  } catch (err) {
    throw InvalidMessageError.of('call request', [`args: cannot be JSON (${(err as Error).message})`], { cause: err });
  }
}
