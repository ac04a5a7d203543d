import { Delivery, type CallRequest } from '@taskmesh/protocol';
import type { TaskTraits } from './task-traits.js';

/** A call waits for its outcome; a submit is answered once the invocation is durable. */
export type CallMode = 'call' | 'submit';

/**
 * Whether a call is delivered direct: the call asks for it, or names no delivery and its task declares direct. Only
 * a plain `call` can be: a submit must be durable when answered; a caller-chosen id (never run twice), a child call
 * (linked to its parent), a scheduled occurrence and a task with concurrency controls all need the invocation record
 * that only the durable path writes, so they are served durable.
 */
export function goesDirect(mode: CallMode, request: Pick<CallRequest, 'delivery' | 'id' | 'chain' | 'dispatch'>, traits: TaskTraits | undefined): boolean {
  if ((request.delivery ?? traits?.delivery ?? Delivery.Durable) !== Delivery.Direct) return false;
  if (mode !== 'call' || request.id !== undefined || request.chain !== undefined || request.dispatch !== undefined) return false;
  const controls = traits?.concurrency;
  return controls === undefined || (controls.registration === 'none' && controls.running === 'none');
}

