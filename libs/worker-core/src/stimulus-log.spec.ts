import type { Stimulus } from './stimuli.js';
import { StimulusLog } from './stimulus-log.js';

const tick = (n: number): Stimulus => ({ type: 'tick', stimulusId: `t${n}`, at: n });

describe(StimulusLog.name, () => {
  it('keeps the last `size` entries, oldest first, once it has wrapped around', () => {
    // A long-running worker: only the recent past is kept for post-mortems.
    const log = new StimulusLog(3);
    for (let n = 1; n <= 7; n++) log.record(tick(n), [], [`inv-${n % 2}`]);
    expect(log.length).toBe(3);
    expect(log.story('inv-1').map((e) => e.stimulus.stimulusId)).toEqual(['t5', 't7']);
    expect(log.story('inv-0').map((e) => e.stimulus.stimulusId)).toEqual(['t6']);
  });

  it('leaves the payload bytes out of the stimulus it keeps', () => {
    const log = new StimulusLog(2);
    log.record({ type: 'work-received', stimulusId: 's1', at: 1, pullId: 1, ref: 1, data: new Uint8Array(1024), deliveryCount: 1, wallNow: 0 }, [], ['inv-1']);
    expect(log.story('inv-1')[0].stimulus).not.toHaveProperty('data');
  });

  it('treats a size below one as one, so a misconfiguration cannot break the core', () => {
    const log = new StimulusLog(0);
    log.record(tick(1), [], ['a']);
    log.record(tick(2), [], ['a']);
    expect(log.story('a').map((e) => e.stimulus.stimulusId)).toEqual(['t2']);
  });
});
