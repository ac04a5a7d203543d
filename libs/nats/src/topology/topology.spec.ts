import { JetStreamApiError } from '@nats-io/jetstream';
import { isStreamFullError } from '../errors.js';
import { DEFAULT_TOPOLOGY_LIMITS, keyedConsumerConfig, refusesAtByteLimit, resolveLimits, taskConsumerConfig, workStreamConfig } from './index.js';

describe(resolveLimits.name, () => {
  it('fills what is not given (or undefined) with the defaults', () => {
    expect(resolveLimits()).toEqual(DEFAULT_TOPOLOGY_LIMITS);
    expect(resolveLimits({ ackWaitMs: 5_000, maxDeliver: undefined })).toEqual({ ...DEFAULT_TOPOLOGY_LIMITS, ackWaitMs: 5_000 });
  });

  it('refuses limits that are not positive integers', () => {
    expect(() => resolveLimits({ workMaxMsgs: 0 })).toThrow(/workMaxMsgs must be a positive integer/);
    expect(() => resolveLimits({ ackWaitMs: 1.5 })).toThrow(/ackWaitMs/);
  });
});

describe(refusesAtByteLimit.name, () => {
  it('is true from nats-server 2.10.5 on, where discard: new counts the stored size (nats-server#4772)', () => {
    expect(['2.10.5', '2.10.22', '2.11.0', '3.0.0', 'v2.12.1-RC.1'].map(refusesAtByteLimit)).toEqual([true, true, true, true, true]);
    expect(['2.9.10', '2.10.4', '2.9.25', undefined, 'garbage'].map(refusesAtByteLimit)).toEqual([false, false, false, false, false]);
  });
});

describe(workStreamConfig.name, () => {
  it('leaves max_bytes unset on a server that would drop old work at a byte limit', () => {
    expect(workStreamConfig('mesh', {}, '2.9.10').max_bytes).toBe(-1);
    expect(workStreamConfig('mesh', {}, '2.11.0').max_bytes).toBe(DEFAULT_TOPOLOGY_LIMITS.workMaxBytes);
    expect(workStreamConfig('mesh')).toMatchObject({ retention: 'workqueue', discard: 'new', subjects: ['mesh.work.>'] });
  });
});

describe(taskConsumerConfig.name, () => {
  it('filters the task subject and converts durations to nanoseconds', () => {
    expect(taskConsumerConfig('mesh', 'echo', { ackWaitMs: 1_000 })).toMatchObject({ durable_name: 'work_echo', filter_subject: 'mesh.work.echo', ack_wait: 1_000_000_000 });
  });
});

describe(keyedConsumerConfig.name, () => {
  it('hands out one message of the shard at a time, with the work limits', () => {
    expect(keyedConsumerConfig('mesh', 3, { ackWaitMs: 2_000, maxDeliver: 7 })).toMatchObject({
      durable_name: 'keyed_3', filter_subject: 'mesh.work.*.3', max_ack_pending: 1, ack_wait: 2_000_000_000, max_deliver: 7, ack_policy: 'explicit', deliver_policy: 'all',
    });
  });
});

describe(isStreamFullError.name, () => {
  const apiError = (code: number, err_code: number, description: string): JetStreamApiError => new JetStreamApiError({ code, err_code, description });

  it('recognises the refusals of a full stream or a full server', () => {
    expect(isStreamFullError(apiError(503, 10077, 'maximum messages exceeded'))).toBe(true);
    expect(isStreamFullError(apiError(503, 10077, 'maximum bytes exceeded'))).toBe(true);
    expect(isStreamFullError(apiError(503, 10023, 'insufficient resources'))).toBe(true);
  });

  it('is false for anything else', () => {
    expect(isStreamFullError(apiError(400, 10054, 'message size exceeds maximum allowed'))).toBe(false);
    expect(isStreamFullError(apiError(503, 10077, 'some other store failure'))).toBe(false);
    expect(isStreamFullError(new Error('maximum messages exceeded'))).toBe(false);
    expect(isStreamFullError(undefined)).toBe(false);
  });
});
