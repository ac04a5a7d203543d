import fc from 'fast-check';
import { CallRequest } from './call-request.js';
import { validationProblems } from './codec.js';
import { Failure } from './failure.js';
import { NotifyMessage } from './notify.message.js';
import { RequestMessage } from './request.message.js';
import { EventData, ResponseMessage, SuccessData } from './response.message.js';
import { ruleProblems, rulesOf, tokenProblem } from './validators.js';
import { WorkerEventMessage } from './worker-event.message.js';

const classes: Array<new () => object> = [NotifyMessage, RequestMessage, ResponseMessage, WorkerEventMessage, CallRequest, Failure, SuccessData, EventData];

// Values that hit every rule from both sides: right types, wrong types, edge numbers, odd strings.
const fieldValue = fc.oneof(
  fc.constantFrom(1, 0, -1, 1.5, 2 ** 60, Number.NaN, '1', '', ' ', 'a.b', 'mesh.worker.w-1', 'w-1', 'echo', 'NOTIFY', 'REQUEST', 'RESPONSE'),
  fc.constantFrom('SUCCESS', 'EVENT', 'joined', 'durable', 'direct', 'TIMEOUT', '2024-05-01T12:00:00.000Z', '2024-13-01T12:00:00.000Z', true, null, undefined),
  fc.constantFrom([], ['echo'], ['a b'], {}, { a: 1 }, [1]),
  fc.jsonValue(),
);

function failingFields(problems: string[]): string[] {
  return [...new Set(problems.map((p) => p.slice(0, p.indexOf(':'))))].sort();
}

describe('field rules', () => {
  describe.each(classes.map((c) => [c.name, c] as const))('%s', (_name, ctor) => {
    it('declares rules for its fields', () => {
      expect(rulesOf(ctor).fields.size).toBeGreaterThan(0);
    });

    it('gives the same verdict, field by field, compiled or through class-validator', () => {
      const fields = [...rulesOf(ctor).fields.keys()];
      const record = fc.record(Object.fromEntries(fields.map((f) => [f, fieldValue])), { requiredKeys: [] });
      fc.assert(
        fc.property(record, (values) => {
          const instance = Object.assign(new ctor(), values);
          expect(failingFields(ruleProblems(instance))).toEqual(failingFields(validationProblems(instance)));
        }),
        { seed: 42, numRuns: 300 },
      );
    });
  });
});

describe(tokenProblem.name, () => {
  it('accepts what nats.js accepts as a token and refuses the rest', () => {
    expect(tokenProblem('order-981:é')).toBeUndefined();
    expect(tokenProblem('a\u2003b')).toMatch(/whitespace/);
    expect(tokenProblem('a\u0085b')).toMatch(/control/);
    expect(tokenProblem(null)).toMatch(/string/);
  });
});
