import { newInvocationRecord, type InvocationRecord, type StoryLine } from '@taskmesh/protocol';
import { mergeStory } from './story-merge.js';

const line = (at: string, worker: string, type: string, attempt?: number): StoryLine => ({
  at: `2026-12-03T10:00:0${at}Z`, worker, kind: type === 'execute' ? 'instruction' : 'stimulus', type, ...(attempt === undefined ? {} : { attempt }),
});
const record = (attempts: number, worker?: string): InvocationRecord => ({
  ...newInvocationRecord({ id: 'inv-1', task: 'fail', createdAt: '2026-12-03T10:00:00.000Z' }), state: 'SUCCESS', attempts, ...(worker ? { worker } : {}),
});

describe(mergeStory.name, () => {
  it('merges the workers\' lines by time, keeping each worker\'s own order for equal times', () => {
    // Attempt 1 ran on w1 and failed retryably; attempt 2 ran on w2.
    const w1 = { worker: 'w1', entries: [line('1.000', 'w1', 'work-received', 1), line('1.000', 'w1', 'execute', 1), line('2.000', 'w1', 'task-finished', 1)] };
    const w2 = { worker: 'w2', entries: [line('3.000', 'w2', 'work-received', 2), line('4.000', 'w2', 'task-finished', 2)] };
    const story = mergeStory('inv-1', [w2, w1, { worker: 'w3', entries: [] }], record(2, 'w2'));
    expect(story.entries.map((l) => `${l.worker}:${l.type}`)).toEqual(['w1:work-received', 'w1:execute', 'w1:task-finished', 'w2:work-received', 'w2:task-finished']);
    expect(story).toMatchObject({ id: 'inv-1', workers: ['w1', 'w2'] });
    expect(story.missing).toBeUndefined();
    expect(story.truncated).toBeUndefined();
  });

  it('lists the attempts no line covers, naming the record\'s worker for its last one', () => {
    // w1 ran attempt 1 and is gone; w2, which ran attempt 2, also left: nobody remembers either.
    expect(mergeStory('inv-1', [], record(2, 'w2')).missing).toEqual([{ attempt: 1 }, { attempt: 2, worker: 'w2' }]);
    expect(mergeStory('inv-1', [{ worker: 'w2', entries: [line('3.000', 'w2', 'work-received', 2)] }], record(2, 'w2')).missing).toEqual([{ attempt: 1 }]);
    expect(mergeStory('inv-1', [], undefined).missing).toBeUndefined();
  });

  it('drops answers and lines that are not sound (answers come from the network)', () => {
    const bad = [null, 'x', { entries: 'no' }, { entries: [{ at: 'yesterday', worker: 'w', kind: 'stimulus', type: 't' }, { ...line('1.000', 'w1', 'tick'), kind: 'other' }, { ...line('1.000', '', 'tick') }, { ...line('1.000', 'w1', 'tick'), attempt: 0 }, line('1.000', 'w1', 'tick')] }];
    expect(mergeStory('inv-1', bad, record(0)).entries).toEqual([line('1.000', 'w1', 'tick')]);
  });

  it('keeps the newest lines within the line and byte bounds, and says so', () => {
    const many = { worker: 'w1', entries: Array.from({ length: 9 }, (_, i) => line(`${i}.000`, 'w1', `t${i}`, 1)) };
    const byCount = mergeStory('inv-1', [many], record(1), 3);
    expect(byCount.entries.map((l) => l.type)).toEqual(['t6', 't7', 't8']);
    expect(byCount.truncated).toBe(true);
    const oneLine = JSON.stringify(many.entries[0]).length;
    expect(mergeStory('inv-1', [many], record(1), 100, 2 * oneLine + 1).entries.map((l) => l.type)).toEqual(['t7', 't8']);
  });
});
