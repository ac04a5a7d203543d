/** A pull the planner wants issued: ask `task`'s consumer for up to `batch` messages. */
export interface PlannedPull {
  task: string;
  batch: number;
}

/**
 * Which pulls to issue so the worker never holds more messages than free slots (pure; unit tested).
 * `free` = capacity - running - reserved (slots already promised to outstanding pulls). Free slots go to tasks in
 * rotating order so no task starves; a task with an outstanding pull gets another only for at least `minBatch`
 * slots (re-pulling for every single freed slot would cost a request per message under load), and never more
 * than `maxOutstanding` pulls at once.
 */
export function planPulls(input: {
  tasks: readonly string[];
  free: number;
  outstanding: ReadonlyMap<string, number>;
  rotation: number;
  minBatch: number;
  maxOutstanding: number;
}): PlannedPull[] {
  const { tasks, minBatch, maxOutstanding } = input;
  let free = input.free;
  if (tasks.length === 0 || free <= 0) return [];
  const order = tasks.map((_, i) => tasks[(i + input.rotation) % tasks.length]);
  // Idle tasks (no pull waiting) first: a message for them can only arrive if we ask.
  const idle = order.filter((t) => (input.outstanding.get(t) ?? 0) === 0);
  const busy = order.filter((t) => (input.outstanding.get(t) ?? 0) > 0 && (input.outstanding.get(t) ?? 0) < maxOutstanding);
  const plan: PlannedPull[] = [];
  for (let i = 0; i < idle.length && free > 0; i++) {
    const batch = Math.max(1, Math.floor(free / (idle.length - i)));
    plan.push({ task: idle[i], batch });
    free -= batch;
  }
  for (let i = 0; i < busy.length && free >= Math.max(1, minBatch); i++) {
    const batch = Math.floor(free / (busy.length - i));
    if (batch < Math.max(1, minBatch)) continue;
    plan.push({ task: busy[i], batch });
    free -= batch;
  }
  return plan;
}
