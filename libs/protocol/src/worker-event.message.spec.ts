import { InvalidMessageError } from './errors.js';
import { WorkerEventMessage } from './worker-event.message.js';

describe(WorkerEventMessage.name, () => {
  it('creates and parses joined and expired events', () => {
    for (const event of ['joined', 'expired'] as const) {
      const message = WorkerEventMessage.create(event, 'w-1', '2024-05-01T12:00:00.000Z');
      expect(JSON.parse(JSON.stringify(message))).toEqual({ v: 1, event, worker: 'w-1', at: '2024-05-01T12:00:00.000Z' });
      expect(WorkerEventMessage.parse(JSON.stringify(message))).toEqual(message);
    }
  });

  it('names bad and unknown fields', () => {
    expect(() => WorkerEventMessage.parse({ v: 1, event: 'left', worker: 'w', at: 'now', why: 'x' })).toThrow(
      /unknown field "why".*event: .*at: /,
    );
    expect(() => WorkerEventMessage.create('joined', 'has space')).toThrow(InvalidMessageError);
  });
});
