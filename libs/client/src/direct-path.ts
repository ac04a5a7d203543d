import type { ResponseMessage } from '@taskmesh/protocol';
import type { CallOptions } from './mesh-client.js';

export interface DirectPath {
  /** Whether this call goes straight to a worker now (it asks for direct or its task is declared direct, it needs no record, and a live worker offers the task). */
  accepts(task: string, options: CallOptions): boolean;
  /** Sends it and resolves with the final RESPONSE (SUCCESS or FAILURE) as the worker or the direct book decided. */
  call(task: string, args: unknown, options: CallOptions & { timeoutMs: number }): Promise<ResponseMessage>;
  close(): Promise<void>;
}
