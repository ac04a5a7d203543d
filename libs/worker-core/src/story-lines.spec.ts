import { Failure, FailureCode, MAX_STORY_DETAIL_BYTES, ResponseMessage } from '@taskmesh/protocol';
import type { StoryEntry } from './stimulus-log.js';
import { workerStory } from './story-lines.js';

const ORIGIN = Date.parse('2026-12-03T10:00:00.000Z');
const wall = (at: number): number => ORIGIN + at;

// A redriven invocation's attempt 4 on w1: received, executed, failed retryably, handed back.
const entries: StoryEntry[] = [
  {
    stimulus: { type: 'work-received', stimulusId: 's1', at: 10, pullId: 1, ref: 7, deliveryCount: 1, redrivenAfter: 3, wallNow: ORIGIN } as StoryEntry['stimulus'],
    instructions: [
      { type: 'publish-event', stimulusId: 's1', ref: 7, invocationId: 'inv-1', response: ResponseMessage.state('inv-1', 'RUNNING', { attempt: 4, worker: 'w1' }) },
      { type: 'execute', stimulusId: 's1', ref: 7, invocationId: 'inv-1', task: 'fail', args: { big: 'x'.repeat(2 * MAX_STORY_DETAIL_BYTES) }, attempt: 4 },
    ],
    invocations: ['inv-1'],
  },
  {
    stimulus: { type: 'task-finished', stimulusId: 's2', at: 25, ref: 7, outcome: { ok: false, failure: Failure.create(FailureCode.TASK_FAILED, 'flaky', { retryable: true }) } } as StoryEntry['stimulus'],
    instructions: [{ type: 'nak', stimulusId: 's2', ref: 7, delayMs: 100 }],
    invocations: ['inv-1'],
  },
];

describe(workerStory.name, () => {
  it('turns each stimulus and the instructions it produced into lines with wall times, attempts and details', () => {
    const story = workerStory(entries, 'w1', wall);
    expect(story.worker).toBe('w1');
    expect(story.entries.map((l) => [l.at, l.attempt, l.kind, l.type])).toEqual([
      ['2026-12-03T10:00:00.010Z', 4, 'stimulus', 'work-received'],
      ['2026-12-03T10:00:00.010Z', 4, 'instruction', 'publish-event'],
      ['2026-12-03T10:00:00.010Z', 4, 'instruction', 'execute'],
      // A later stimulus about the same message (ref 7) belongs to its attempt.
      ['2026-12-03T10:00:00.025Z', 4, 'stimulus', 'task-finished'],
      ['2026-12-03T10:00:00.025Z', 4, 'instruction', 'nak'],
    ]);
    expect(story.entries[0].detail).toMatchObject({ ref: 7, deliveryCount: 1, redrivenAfter: 3 });
    expect(story.entries[0].detail).not.toHaveProperty('stimulusId');
    expect(story.entries[1].detail?.['response']).toMatchObject({ state: 'RUNNING', attempt: 4 });
    expect(story.truncated).toBeUndefined();
  });

  it('bounds what it sends: a large field is replaced by its size, and only the newest lines are kept', () => {
    const execute = workerStory(entries, 'w1', wall).entries[2];
    expect(execute.detail?.['args']).toEqual({ truncated: true, bytes: expect.any(Number) });
    expect(execute.detail?.['task']).toBe('fail');
    const kept = workerStory(entries, 'w1', wall, 2);
    expect(kept.entries.map((l) => l.type)).toEqual(['task-finished', 'nak']);
    expect(kept.truncated).toBe(true);
  });

  it('is empty for an invocation the worker never saw', () => {
    expect(workerStory([], 'w1', wall)).toEqual({ worker: 'w1', entries: [] });
  });
});
