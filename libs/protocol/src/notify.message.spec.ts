import { InvalidMessageError, ProtocolVersionError } from './errors.js';
import { NotifyMessage } from './notify.message.js';

const valid = {
  v: 1,
  type: 'NOTIFY',
  worker: 'w-1',
  topic: 'mesh.worker.w-1',
  tasks: ['echo', 'sleep'],
  capacity: 8,
  inflight: 3,
  seq: 17,
  sentAt: '2024-05-01T12:00:00.000Z',
};

function problemsOf(raw: unknown): string[] {
  try {
    NotifyMessage.parse(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidMessageError);
    return (err as InvalidMessageError).problems;
  }
  throw new Error('expected parse to throw');
}

describe(NotifyMessage.name, () => {
  it('parses bytes, text and a parsed object alike', () => {
    const text = JSON.stringify(valid);
    for (const raw of [text, new TextEncoder().encode(text), Buffer.from(text), valid]) {
      const message = NotifyMessage.parse(raw);
      expect(message).toBeInstanceOf(NotifyMessage);
      expect(message).toEqual(expect.objectContaining(valid));
      expect(message.free).toBe(5);
    }
  });

  it('creates a NOTIFY with sentAt defaulting to now', () => {
    const message = NotifyMessage.create({ worker: 'w-1', topic: 'mesh.worker.w-1', tasks: ['echo'], capacity: 1, inflight: 0, seq: 0 });
    expect(message.type).toBe('NOTIFY');
    expect(message.v).toBe(1);
    expect(Date.parse(message.sentAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(NotifyMessage.parse(JSON.stringify(message))).toEqual(message);
  });

  it('names an unknown field in the error message', () => {
    expect(() => NotifyMessage.parse({ ...valid, bogus: 1 })).toThrow(/unknown field "bogus"/);
  });

  it('lists every problem, each naming its field', () => {
    const problems = problemsOf({ ...valid, worker: 'a b', tasks: ['ok', 'not.ok'], capacity: 0, inflight: -1, seq: 1.5, sentAt: 'yesterday', topic: 'mesh.*' });
    const fields = problems.map((p) => p.split(':')[0]);
    expect(fields.sort()).toEqual(['capacity', 'inflight', 'sentAt', 'seq', 'tasks', 'topic', 'worker']);
  });

  it('reports missing fields as required', () => {
    const { capacity: _c, tasks: _t, ...rest } = valid;
    expect(problemsOf(rest)).toEqual(['tasks: is required', 'capacity: is required']);
  });

  it('refuses another type', () => {
    expect(problemsOf({ ...valid, type: 'REQUEST' })).toEqual(['type: must be "NOTIFY"']);
  });

  it('refuses another protocol version with a ProtocolVersionError', () => {
    expect(() => NotifyMessage.parse({ ...valid, v: 2 })).toThrow(ProtocolVersionError);
    expect(() => NotifyMessage.parse({ ...valid, v: '1' })).toThrow(ProtocolVersionError);
    expect(problemsOf({ ...valid, v: undefined })).toEqual(['v: is required (protocol version 1)']);
  });

  it.each([
    ['malformed JSON', '{"v":1,'],
    ['empty body', ''],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
    ['an array', '[]'],
    ['null', 'null'],
    ['a number', 42],
    ['a Date', new Date()],
    ['a Map', new Map()],
  ])('refuses %s with InvalidMessageError', (_name, raw) => {
    expect(() => NotifyMessage.parse(raw)).toThrow(InvalidMessageError);
  });

  it('does not let a __proto__ key change anything', () => {
    const raw = `{"__proto__":{"capacity":5},${JSON.stringify(valid).slice(1)}`;
    expect(problemsOf(raw)).toEqual(['unknown field "__proto__"']);
    expect(({} as Record<string, unknown>)['capacity']).toBeUndefined();
  });

  it('reports a throwing getter as an invalid message, not a crash', () => {
    const hostile = { ...valid };
    Object.defineProperty(hostile, 'worker', { enumerable: true, get: () => { throw new TypeError('boom'); } });
    expect(() => NotifyMessage.parse(hostile)).toThrow(InvalidMessageError);
  });
});
