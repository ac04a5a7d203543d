/**
 * The parent/children tree of an invocation, pure: the records are read first (walking `parentId` up to the root,
 * then `children` down, both bounded), and this builds the tree from what was read. A child listed by its parent
 * but not read (purged, or past the bound) is a node marked `missing`.
 */

/** The fields of a record the tree needs. */
export interface TreeRecord {
  id: string;
  task: string;
  state: string;
  parentId?: string;
  children: string[];
  failure?: { code: string };
}

/** One node: an invocation and its children, in the order its record lists them. */
export interface TreeNode {
  id: string;
  task?: string;
  state?: string;
  /** The record could not be read. */
  missing?: true;
  /** More children exist than were read. */
  more?: number;
  children: TreeNode[];
}

/** Deepest tree shown (a chain is at most 32 links: docs/PROTOCOL.md 4.7). */
export const MAX_TREE_DEPTH = 33;
/** Most nodes read for one tree. */
export const MAX_TREE_NODES = 200;

/** The root of `id`'s tree among `records`: the topmost ancestor that was read (cycles cannot occur, but are cut). */
export function rootOf(id: string, records: ReadonlyMap<string, TreeRecord>): string {
  let at = id;
  const seen = new Set<string>([id]);
  for (let parent = records.get(at)?.parentId; parent !== undefined && records.has(parent) && !seen.has(parent); parent = records.get(at)?.parentId) {
    seen.add(parent);
    at = parent;
  }
  return at;
}

/** The tree under `rootId`, from the records read; at most `maxNodes` nodes, each id once. */
export function buildTree(rootId: string, records: ReadonlyMap<string, TreeRecord>, maxNodes = MAX_TREE_NODES): TreeNode {
  const placed = new Set<string>();
  let budget = maxNodes;
  const node = (id: string, depth: number): TreeNode => {
    placed.add(id);
    budget--;
    const r = records.get(id);
    if (r === undefined) return { id, missing: true, children: [] };
    const out: TreeNode = { id, task: r.task, state: displayState(r), children: [] };
    if (depth >= MAX_TREE_DEPTH) return r.children.length > 0 ? { ...out, more: r.children.length } : out;
    let skipped = 0;
    for (const child of r.children) {
      if (placed.has(child)) continue;
      if (budget <= 0) {
        skipped++;
        continue;
      }
      out.children.push(node(child, depth + 1));
    }
    return skipped > 0 ? { ...out, more: skipped } : out;
  };
  return node(rootId, 0);
}

/** The state an operator reads: a FAILURE whose code is CANCELLED is shown as CANCELLED. */
export function displayState(r: { state: string; failure?: { code: string } }): string {
  return r.state === 'FAILURE' && r.failure?.code === 'CANCELLED' ? 'CANCELLED' : r.state;
}
