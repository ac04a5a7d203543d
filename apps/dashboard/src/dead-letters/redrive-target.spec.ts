import { InvalidMessageError } from '@taskmesh/protocol';
import { redriveTarget } from './redrive-target.js';

describe(redriveTarget.name, () => {
  it('reads one invocation, or all (of one task)', () => {
    expect(redriveTarget({ id: 'charge-1' })).toEqual({ id: 'charge-1' });
    expect(redriveTarget({ all: true })).toEqual({ all: true });
    expect(redriveTarget({ all: true, task: 'fail' })).toEqual({ all: true, task: 'fail' });
  });

  it('refuses anything else, naming each problem', () => {
    const problems = (body: unknown): readonly string[] => {
      try {
        redriveTarget(body);
      } catch (err) {
        if (err instanceof InvalidMessageError) return err.problems;
        throw err;
      }
      throw new Error('accepted');
    };
    expect(problems({})).toEqual(['body: must be {"id"} or {"all": true, "task"?}']);
    expect(problems({ all: false })).toEqual(['body: must be {"id"} or {"all": true, "task"?}']);
    expect(problems({ id: 'a.b', all: true, seq: 3 })).toEqual(['unknown field "seq"', 'body: give either {"id"} or {"all": true, "task"?}', 'id: must be an invocation id']);
    expect(problems({ all: true, task: 'no spaces' })).toEqual(['task: must be a task name']);
  });
});
