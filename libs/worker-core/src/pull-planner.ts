/** A pull the planner wants issued: ask `task`'s consumer for up to `batch` messages. */
export interface PlannedPull {
  task: string;
  batch: number;
  /** A one-slot pull for a task that has not been receiving work: worth only a short wait at the server. */
  probe: boolean;
}

/**
 * Which pulls to issue so the worker never holds more messages than free slots (pure; unit tested).
 * `free` = capacity - occupied - queued - reserved (slots already promised to outstanding pulls).
 *
 * "Busy" tasks are those receiving work (`hot`) and those a parent here waits for (`awaited`, pynenc's blocking
 * control: the work others wait for goes first). The others are "cold": they get one-slot probes, so their first
 * message is noticed.
 * - When nothing is busy, every cold task without a pull open gets a probe (an idle worker notices any work at once).
 * - When something is busy, at most one probe is open at a time, so busy tasks keep nearly every slot even when the
 *   worker hosts more tasks than it has slots; `rotation` picks which cold task is probed next, so each gets its turn.
 * - Busy tasks first get a slot each if they have no pull open (awaited ones first), then share the rest: topping
 *   up their new pull, or, when a pull is already open, asking again only for at least `minBatch` slots (a request
 *   per message is waste under load) and never with more than `maxOutstanding` pulls open.
 */
export function planPulls(input: {
  tasks: readonly string[];
  free: number;
  outstanding: ReadonlyMap<string, number>;
  hot: ReadonlySet<string>;
  rotation: number;
  /** Tasks whose results someone here waits for (child calls): busy, and served first. */
  awaited?: ReadonlyMap<string, number>;
  minBatch: number;
  maxOutstanding: number;
}): PlannedPull[] {
  const { tasks, minBatch, maxOutstanding } = input;
  let free = input.free;
  if (tasks.length === 0 || free <= 0) return [];
  const open = (t: string): number => input.outstanding.get(t) ?? 0;
  // Nothing busy and every task's probe open: cold tasks get nothing beyond their probe, so there is nothing to add.
  // A worker full of direct calls sees this after nearly every stimulus; it needs none of the work below.
  if (tasks.length > 1 && input.hot.size === 0 && (input.awaited?.size ?? 0) === 0 && tasks.every((t) => open(t) > 0)) return [];
  const awaited = (t: string): boolean => (input.awaited?.get(t) ?? 0) > 0;
  // A lone task is always busy: there is nothing to share with.
  const busy = (t: string): boolean => tasks.length === 1 || input.hot.has(t) || awaited(t);
  const rotated = tasks.map((_, i) => tasks[(i + input.rotation) % tasks.length]);
  const busyTasks = [...rotated.filter(awaited), ...rotated.filter((t) => busy(t) && !awaited(t))];
  const cold = rotated.filter((t) => !busy(t));

  const fresh = new Map<string, number>();
  for (const t of busyTasks) {
    if (free <= 0) break;
    if (open(t) === 0) {
      fresh.set(t, 1);
      free -= 1;
    }
  }
  // A cold task's open pull is a probe (cold tasks get nothing else).
  let probes = cold.filter((t) => open(t) > 0).length;
  const maxProbes = busyTasks.length === 0 ? Infinity : 1;
  const probed: string[] = [];
  for (const t of cold) {
    if (free <= 0 || probes >= maxProbes) break;
    if (open(t) === 0) {
      probed.push(t);
      probes += 1;
      free -= 1;
    }
  }

  const extra: PlannedPull[] = [];
  const wanting = busyTasks.filter((t) => fresh.has(t) || open(t) < maxOutstanding);
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
  return [
    ...[...fresh].map(([task, batch]) => ({ task, batch, probe: false })),
    ...probed.map((task) => ({ task, batch: 1, probe: true })),
    ...extra,
  ];
}
