import type { RedriveTarget } from '@taskmesh/client';
import { INVOCATION_ID_PATTERN, InvalidMessageError, TASK_NAME_PATTERN } from '@taskmesh/protocol';

/** `{"id"}` or `{"all": true, "task"?}`; anything else is BAD_REQUEST naming what is wrong. */
export function redriveTarget(body: unknown): RedriveTarget {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(b)) if (!['id', 'all', 'task'].includes(k)) problems.push(`unknown field "${k}"`);
  if (b['id'] !== undefined && (b['all'] !== undefined || b['task'] !== undefined)) problems.push('body: give either {"id"} or {"all": true, "task"?}');
  if (b['id'] !== undefined && (typeof b['id'] !== 'string' || !INVOCATION_ID_PATTERN.test(b['id']))) problems.push('id: must be an invocation id');
  if (b['id'] === undefined && b['all'] !== true) problems.push('body: must be {"id"} or {"all": true, "task"?}');
  if (b['task'] !== undefined && (typeof b['task'] !== 'string' || !TASK_NAME_PATTERN.test(b['task']))) problems.push('task: must be a task name');
  if (problems.length > 0) throw InvalidMessageError.of('redrive request', problems);
  return b['id'] !== undefined ? { id: b['id'] as string } : { all: true, ...(b['task'] !== undefined ? { task: b['task'] as string } : {}) };
}
