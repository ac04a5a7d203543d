import { ResponseMessage } from '@taskmesh/protocol';
import { NO_PROGRESS, nextProgress, type Progress } from './progress.js';

const fold = (responses: ResponseMessage[]): Progress => responses.reduce(nextProgress, NO_PROGRESS);

describe(nextProgress.name, () => {
  it('follows the demo sleep task\'s {step, steps} to SUCCESS, full', () => {
    // `taskmesh call sleep '{"ms":1500,"steps":5}'`: RUNNING, then a progress event per step, then the outcome.
    const steps = [1, 2, 3].map((step) => ResponseMessage.event('i', 'progress', { step, steps: 5 }));
    expect(fold([ResponseMessage.state('i', 'RUNNING'), ...steps])).toEqual({ value: 3, total: 5, state: 'RUNNING' });
    expect(fold([ResponseMessage.state('i', 'RUNNING'), ...steps, ResponseMessage.success('i', null)])).toEqual({ value: 5, total: 5, state: 'SUCCESS' });
  });

  it('reads {done, total} and {percent}, and caps what overshoots', () => {
    expect(fold([ResponseMessage.event('i', 'progress', { done: 30, total: 40 })])).toMatchObject({ value: 30, total: 40 });
    expect(fold([ResponseMessage.event('i', 'progress', { percent: 42.5 })])).toMatchObject({ value: 42.5, total: 100 });
    expect(fold([ResponseMessage.event('i', 'progress', { step: 9, steps: 4 })])).toMatchObject({ value: 4, total: 4 });
  });

  it('ignores other events and progress it cannot read; a failure only renames the state', () => {
    const at2 = fold([ResponseMessage.event('i', 'progress', { step: 2, steps: 4 })]);
    expect(nextProgress(at2, ResponseMessage.event('i', 'log', { line: 'hello' }))).toBe(at2);
    expect(nextProgress(at2, ResponseMessage.event('i', 'progress', { step: 'two', steps: 4 }))).toBe(at2);
    expect(nextProgress(at2, ResponseMessage.event('i', 'progress', { step: 1, steps: 0 }))).toBe(at2);
    expect(nextProgress(at2, ResponseMessage.event('i', 'progress'))).toBe(at2);
    expect(nextProgress(at2, ResponseMessage.failure('i', { code: 'TASK_FAILED', message: 'boom', retryable: false } as never))).toEqual({ value: 2, total: 4, state: 'FAILURE' });
  });

  it('moves back when a retry starts over', () => {
    const first = fold([ResponseMessage.event('i', 'progress', { step: 3, steps: 4 })]);
    expect(nextProgress(nextProgress(first, ResponseMessage.state('i', 'WAITING', { attempt: 1 })), ResponseMessage.event('i', 'progress', { step: 1, steps: 4 })))
      .toEqual({ value: 1, total: 4, state: 'WAITING' });
  });
});
