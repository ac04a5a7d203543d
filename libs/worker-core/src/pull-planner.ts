/** A pull the planner wants issued: ask `task`'s consumer for up to `batch` messages. */
export interface PlannedPull {
  task: string;
  batch: number;
}

/**
 * Which pulls to issue so the worker never holds more messages than free slots (pure; unit tested).
 * `free` = capacity - held - reserved (slots already promised to outstanding pulls).
 *
 * Slots are shared by demand: a task with no pull open and no recent work ("cold") gets a one-slot probe, so a
 * message for it is still picked up at once while it costs one slot, not a share; tasks that recently received
 * work ("hot") share the rest. Order rotates so no task starves when slots are scarce. A task that already has a
 * pull open gets another only for at least `minBatch` slots (a request per message is waste under load), and
 * never more than `maxOutstanding` pulls at once.
 */
export function planPulls(input: {
  tasks: readonly string[];
  free: number;
  outstanding: ReadonlyMap<string, number>;
  hot: ReadonlySet<string>;
  rotation: number;
  minBatch: number;
  maxOutstanding: number;
}): PlannedPull[] {
  const { tasks, hot, minBatch, maxOutstanding } = input;
  let free = input.free;
  if (tasks.length === 0 || free <= 0) return [];
  const open = (t: string): number => input.outstanding.get(t) ?? 0;
  const order = tasks.map((_, i) => tasks[(i + input.rotation) % tasks.length]);
  const plan: PlannedPull[] = [];
  // Probes for cold idle tasks; a lone task is always treated as hot (nothing to share with).
  const lone = tasks.length === 1;
  for (const t of order) {
    if (free <= 0) break;
    if (open(t) === 0 && !hot.has(t) && !lone) {
      plan.push({ task: t, batch: 1 });
      free -= 1;
    }
  }
  const wanting = order.filter((t) => (hot.has(t) || lone) && open(t) < maxOutstanding);
  // Hot tasks without an open pull first: nothing is coming for them otherwise.
  wanting.sort((a, b) => Number(open(a) > 0) - Number(open(b) > 0));
  for (let i = 0; i < wanting.length && free > 0; i++) {
    const t = wanting[i];
    const batch = Math.floor(free / (wanting.length - i)) || (open(t) === 0 ? Math.min(1, free) : 0);
    if (batch <= 0 || (open(t) > 0 && batch < Math.max(1, minBatch))) continue;
    plan.push({ task: t, batch });
    free -= batch;
  }
  return plan;
}
