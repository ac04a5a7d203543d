import { MAX_STORY_BYTES, MAX_STORY_LINES, type InvocationRecord, type InvocationStory, type MissingAttempt, type StoryLine } from '@taskmesh/protocol';

/**
 * Merges the workers' answers to `<p>.story` into one invocation's story (docs/PROTOCOL.md section 4.13). Pure.
 * Answers are input from the network: an entry that is not a sound StoryLine is dropped. Entries are ordered by
 * time (each worker's own order kept for equal times), the newest kept within MAX_STORY_LINES and MAX_STORY_BYTES, and the attempts the record
 * counts that no entry covers are listed as missing (their worker is gone, or its log rolled over).
 */
export function mergeStory(
  id: string, answers: readonly unknown[], record: InvocationRecord | undefined, max = MAX_STORY_LINES, maxBytes = MAX_STORY_BYTES,
): InvocationStory {
  const entries: { line: StoryLine; order: number }[] = [];
  const workers = new Set<string>();
  for (const answer of answers) {
    const lines = (answer as { entries?: unknown } | null)?.entries;
    if (!Array.isArray(lines)) continue;
    for (const line of lines) {
      if (!isStoryLine(line)) continue;
      entries.push({ line, order: entries.length });
      workers.add(line.worker);
    }
  }
  entries.sort((a, b) => Date.parse(a.line.at) - Date.parse(b.line.at) || a.order - b.order);
  // The newest first, while both bounds allow.
  const kept: StoryLine[] = [];
  let bytes = 0;
  for (let i = entries.length - 1; i >= 0 && kept.length < max; i--) {
    bytes += JSON.stringify(entries[i].line).length;
    if (bytes > maxBytes) break;
    kept.push(entries[i].line);
  }
  kept.reverse();
  const truncated = kept.length < entries.length;
  const covered = new Set(entries.map((e) => e.line.attempt));
  const missing: MissingAttempt[] = [];
  for (let attempt = 1; attempt <= (record?.attempts ?? 0); attempt++) {
    if (covered.has(attempt)) continue;
    missing.push({ attempt, ...(attempt === record?.attempts && record.worker ? { worker: record.worker } : {}) });
  }
  return {
    id, entries: kept, workers: [...workers].sort(),
    ...(missing.length > 0 ? { missing } : {}), ...(truncated ? { truncated } : {}),
  };
}

function isStoryLine(value: unknown): value is StoryLine {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const l = value as Record<string, unknown>;
  return typeof l['at'] === 'string' && !Number.isNaN(Date.parse(l['at']))
    && (l['attempt'] === undefined || (Number.isSafeInteger(l['attempt']) && (l['attempt'] as number) >= 1))
    && typeof l['worker'] === 'string' && l['worker'].length > 0
    && (l['kind'] === 'stimulus' || l['kind'] === 'instruction') && typeof l['type'] === 'string'
    && (l['detail'] === undefined || (typeof l['detail'] === 'object' && l['detail'] !== null && !Array.isArray(l['detail'])));
}
