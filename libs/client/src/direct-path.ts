import type { ResponseMessage } from '@taskmesh/protocol';
import type { CallOptions, MeshConnectOptions } from './mesh-client.js';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * The seam for smart direct calls (libs/client/src/direct/): a path that sends a direct call straight to a live
 * worker, with no router hop. Without one, a direct call goes through a router (`delivery: 'direct'` in the body,
 * docs/PROTOCOL.md section 4.9), which is always correct.
 */
export interface DirectPath {
  /** Whether this call goes straight to a worker now (it asks for direct or its task is declared direct, it needs no record, and a live worker offers the task). */
  accepts(task: string, options: CallOptions): boolean;
  /** Sends it and resolves with the final RESPONSE (SUCCESS or FAILURE) as the worker or the direct book decided. */
  call(task: string, args: unknown, options: CallOptions & { timeoutMs: number }): Promise<ResponseMessage>;
  close(): Promise<void>;
}

/** Builds the DirectPath of a client on its connection (called once, by `MeshClient.connect`). */
export type DirectPathFactory = (nc: NatsConnection, options: MeshConnectOptions) => Promise<DirectPath>;

/** What `MeshClient.connect` / `fromConnection` take besides the user's options: parts wired by the packages. */
export interface MeshClientParts {
  /** Smart direct mode (`direct: 'smart'`, the default); absent: direct calls go through a router. */
  direct?: DirectPathFactory;
}

/**
 * The parts `MeshClient.connect` and `fromConnection` use when given none (and so MeshClientModule too). Smart
 * direct mode is wired here, in one line: `{ direct: <the DirectPath factory of libs/client/src/direct/> }`.
 */
export const DEFAULT_CLIENT_PARTS: MeshClientParts = {};
