import { MAX_STORY_DETAIL_BYTES, MAX_WORKER_STORY_LINES, type StoryLine, type WorkerStory } from '@taskmesh/protocol';
import type { StoryEntry } from './stimulus-log.js';

/**
 * One worker's answer to `<p>.story` (docs/PROTOCOL.md section 4.13): the core's story of an invocation as lines, a
 * stimulus line then one line per instruction it produced. Pure: `wallMs` turns the core's monotonic stimulus time
 * into epoch ms. Bounded: the newest `maxLines` lines are kept, and a detail field larger than
 * MAX_STORY_DETAIL_BYTES is replaced by `{ truncated: true, bytes }`.
 */
export function workerStory(entries: readonly StoryEntry[], worker: string, wallMs: (at: number) => number, maxLines = MAX_WORKER_STORY_LINES): WorkerStory {
  const lines: StoryLine[] = [];
  // The attempt of each message the core held (its `ref`), from the line that first named it: a later stimulus
  // about the same message (task-finished, outcome-stored) belongs to the same attempt.
  const attemptOfRef = new Map<number, number>();
  for (const entry of entries) {
    const { type, stimulusId: _id, at: monotonic, ...stimulusFields } = entry.stimulus as unknown as Record<string, unknown> & { type: string; stimulusId: string; at: number };
    const at = new Date(wallMs(monotonic)).toISOString();
    const own: Array<{ kind: 'stimulus' | 'instruction'; type: string; fields: Record<string, unknown>; attempt: number | undefined }> = [
      { kind: 'stimulus', type, fields: stimulusFields, attempt: stimulusAttempt(entry.stimulus as unknown as Record<string, unknown>) },
    ];
    const produced = entry.instructions.map((ins) => {
      const { type: insType, stimulusId: _sid, ...fields } = ins as unknown as Record<string, unknown> & { type: string; stimulusId: string };
      return { kind: 'instruction' as const, type: insType, fields, attempt: instructionAttempt(ins as unknown as Record<string, unknown>) };
    });
    const all = [...own, ...produced];
    // A line that does not say its attempt takes the entry's, when the entry names exactly one.
    for (const l of all) {
      const ref = l.fields['ref'];
      if (typeof ref !== 'number') continue;
      if (l.attempt !== undefined && !attemptOfRef.has(ref)) attemptOfRef.set(ref, l.attempt);
      l.attempt ??= attemptOfRef.get(ref);
    }
    const named = new Set(all.map((l) => l.attempt).filter((a): a is number => a !== undefined));
    const entryAttempt = named.size === 1 ? [...named][0] : undefined;
    for (const l of all) {
      const attempt = l.attempt ?? entryAttempt;
      const detail = boundedDetail(l.fields);
      lines.push({ at, ...(attempt === undefined ? {} : { attempt }), worker, kind: l.kind, type: l.type, ...(detail ? { detail } : {}) });
    }
  }
  const truncated = lines.length > maxLines;
  return { worker, entries: truncated ? lines.slice(lines.length - maxLines) : lines, ...(truncated ? { truncated } : {}) };
}

function stimulusAttempt(s: Record<string, unknown>): number | undefined {
  if (s['type'] === 'work-received' && typeof s['deliveryCount'] === 'number') return ((s['redrivenAfter'] as number | undefined) ?? 0) + s['deliveryCount'];
  return typeof s['attempt'] === 'number' ? s['attempt'] : undefined;
}

function instructionAttempt(ins: Record<string, unknown>): number | undefined {
  if (typeof ins['attempt'] === 'number') return ins['attempt'];
  const response = ins['response'] as { attempt?: unknown } | undefined;
  return typeof response?.attempt === 'number' ? response.attempt : undefined;
}

/** The fields as JSON, each at most MAX_STORY_DETAIL_BYTES; undefined when there is none. */
function boundedDetail(fields: Record<string, unknown>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || typeof value === 'function') continue;
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch {
      text = undefined;
    }
    if (text === undefined) continue;
    const bytes = new TextEncoder().encode(text).length;
    out[key] = bytes > MAX_STORY_DETAIL_BYTES ? { truncated: true, bytes } : (JSON.parse(text) as unknown);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
