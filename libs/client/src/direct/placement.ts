import { rendezvousOwner } from '@taskmesh/protocol';

/** A live worker as placement sees it. */
export interface Placeable {
  id: string;
  /** The subject it takes direct requests on (its NOTIFY `topic`). */
  topic: string;
  tasks: readonly string[];
  /** Its last NOTIFY `inflight` plus what this process sent it since that NOTIFY. */
  load: number;
}

/**
 * Chooses the worker for a direct request (pure). Only live workers that offer `task` and are not in `exclude`
 * (they refused it, or were lost with it) qualify. With a `key`, the key's owner by rendezvous hashing over them, so
 * all calls with one key go to one worker while the pool is stable (dp3's entity-to-worker mapping); otherwise the
 * least loaded, ties to the smaller id so every replica breaks them alike.
 */
export function placeDirect(workers: Iterable<Placeable>, task: string, key: string | undefined, exclude: ReadonlySet<string> = new Set()): Placeable | undefined {
  const candidates: Placeable[] = [];
  for (const w of workers) if (!exclude.has(w.id) && w.tasks.includes(task)) candidates.push(w);
  if (key !== undefined) {
    const owner = rendezvousOwner(key, candidates.map((w) => w.id));
    return candidates.find((w) => w.id === owner);
  }
  let best: Placeable | undefined;
  for (const w of candidates) if (best === undefined || w.load < best.load || (w.load === best.load && w.id < best.id)) best = w;
  return best;
}
