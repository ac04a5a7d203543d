/** A pull the planner wants issued: ask `task`'s consumer for up to `batch` messages. */
export interface PlannedPull {
  task: string;
  batch: number;
  /** A one-slot pull for a task that has not been receiving work: worth only a short wait at the server. */
  probe: boolean;
}

/**
 * Which pulls to issue so the worker never holds more messages than free slots (pure; unit tested).
 * `free` = capacity - held - reserved (slots already promised to outstanding pulls).
 *
 * Tasks that a parent here waits for (its child calls) go first. Then every task with no pull open gets one slot, in rotating order, so no task waits for a slot forever even
 * when the worker has fewer slots than tasks. Then the tasks that recently received work ("hot") share the rest:
 * topping up their new pull, or, when a pull is already open, asking again only for at least `minBatch` slots (a
 * request per message is waste under load) and never with more than `maxOutstanding` pulls open. A cold task's
 * one slot is a probe: a message for it is still picked up at once, at the cost of one slot, not a share.
 */
export function planPulls(input: {
  tasks: readonly string[];
  free: number;
  outstanding: ReadonlyMap<string, number>;
  hot: ReadonlySet<string>;
  rotation: number;
  /** Tasks whose results someone here waits for (child calls): they get the first free slots. */
  awaited?: ReadonlyMap<string, number>;
  minBatch: number;
  maxOutstanding: number;
}): PlannedPull[] {
  const { tasks, minBatch, maxOutstanding } = input;
  let free = input.free;
  if (tasks.length === 0 || free <= 0) return [];
  const open = (t: string): number => input.outstanding.get(t) ?? 0;
  // A lone task is always treated as hot: there is nothing to share with.
  const hot = (t: string): boolean => tasks.length === 1 || input.hot.has(t);
  const rotated = tasks.map((_, i) => tasks[(i + input.rotation) % tasks.length]);
  // Work that a waiting parent needs comes first (pynenc's blocking control): it is what unblocks the parent.
  const awaited = (t: string): boolean => (input.awaited?.get(t) ?? 0) > 0;
  const order = [...rotated.filter(awaited), ...rotated.filter((t) => !awaited(t))];
  const fresh = new Map<string, number>();
  for (const t of order) {
    if (free <= 0) break;
    if (open(t) === 0) {
      fresh.set(t, 1);
      free -= 1;
    }
  }
  const extra: PlannedPull[] = [];
  const wanting = order.filter((t) => hot(t) && (fresh.has(t) || open(t) < maxOutstanding));
  for (let i = 0; i < wanting.length && free > 0; i++) {
    const t = wanting[i];
    const share = Math.floor(free / (wanting.length - i));
    if (fresh.has(t)) {
      fresh.set(t, fresh.get(t)! + share);
    } else if (share >= Math.max(1, minBatch)) {
      extra.push({ task: t, batch: share, probe: false });
    } else {
      continue;
    }
    free -= share;
  }
  return [...[...fresh].map(([task, batch]) => ({ task, batch, probe: batch === 1 && !hot(task) })), ...extra];
}
