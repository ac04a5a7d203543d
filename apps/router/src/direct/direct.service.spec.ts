import { jest } from '@jest/globals';
import { Registry } from 'prom-client';
import { CallRequest, ResponseMessage, type Failure } from '@taskmesh/protocol';
import type { MeshBus, MeshMsg as Msg } from '@taskmesh/nats';
import type { Placeable, TaskTraits } from '@taskmesh/client';
import type { RegistryService } from '../registry/registry.service.js';
import { DirectService, PICKUP_GRACE_MS } from './direct.service.js';

// The DirectService shell with a fake bus and registry (no NATS): what it sends, when it answers, what it counts.
interface Sent {
  subject: string;
  body: { id: string; deadline: number };
  attempt: string | undefined;
  reply: string | undefined;
}

function setup(opts: { idempotent?: boolean; workers?: string[]; failPublish?: boolean } = {}) {
  const sent: Sent[] = [];
  const live = new Set(opts.workers ?? ['w1', 'w2']);
  let expired: ((worker: string) => void) | undefined;
  const bus = {
    publish: (subject: string, data: string, headers?: Record<string, string>, o?: { reply?: string }) => {
      if (opts.failPublish) throw new Error('MAX_PAYLOAD_EXCEEDED');
      sent.push({ subject, body: JSON.parse(data) as Sent['body'], attempt: headers?.['Mesh-Attempt'], reply: o?.reply });
    },
  } as unknown as MeshBus;
  const registry = {
    traitsOf: (): TaskTraits => ({ idempotent: opts.idempotent ?? true }),
    placeDirect: (_task: string, _key: string | undefined, exclude: ReadonlySet<string>): Placeable | undefined => {
      const id = [...live].sort().find((w) => !exclude.has(w));
      return id === undefined ? undefined : { id, topic: `mesh.worker.${id}`, tasks: ['echo'], load: 0 };
    },
    noteSent: () => undefined,
    onExpired: (listener: (worker: string) => void) => void (expired = listener),
  } as unknown as RegistryService;
  const metrics = new Registry();
  const service = new DirectService(bus, metrics, registry);
  service.onModuleInit();
  const report = (id: string, response: ResponseMessage): boolean =>
    service.onReply(id, { data: new TextEncoder().encode(JSON.stringify(response)), subject: `mesh.reply.r1.${id}` } as Msg);
  const expire = (worker: string): void => {
    live.delete(worker);
    expired?.(worker);
  };
  const metric = async (name: string): Promise<number> => (await metrics.getSingleMetric(name)?.get())?.values.reduce((n, v) => n + v.value, 0) ?? 0;
  return { service, sent, report, expire, metric };
}

const call = (timeoutMs = 1000): CallRequest => CallRequest.create({ args: { n: 1 }, delivery: 'direct', timeoutMs });
const failureOf = (outcome: Msg | Failure): Failure => outcome as Failure;
const meta = (worker: string, attempt: number) => ({ worker, attempt });

describe(DirectService.name, () => {
  beforeEach(() => jest.useFakeTimers({ now: Date.parse('2026-12-03T00:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('sends the REQUEST to the chosen worker with its reply subject and attempt, and answers with the worker\'s outcome', async () => {
    const { service, sent, report } = setup();
    const outcome = service.call('echo', 'inv-1', call(), 'mesh.reply.r1.inv-1');
    expect(sent).toEqual([{ subject: 'mesh.worker.w1', body: expect.objectContaining({ id: 'inv-1', deadline: Date.now() + 1000 }), attempt: '1', reply: 'mesh.reply.r1.inv-1' }]);
    expect(report('inv-1', ResponseMessage.state('inv-1', 'RUNNING', meta('w1', 1)))).toBe(true);
    expect(report('inv-1', ResponseMessage.success('inv-1', { n: 1 }, meta('w1', 1)))).toBe(true);
    const msg = (await outcome) as Msg;
    expect(ResponseMessage.parse(msg.data)).toMatchObject({ state: 'SUCCESS', worker: 'w1' });
    expect(service.size).toBe(0);
  });

  it('answers TIMEOUT when nobody reports a start by the deadline plus the grace, not before', async () => {
    const { service } = setup();
    let answered: Msg | Failure | undefined;
    void service.call('echo', 'inv-1', call(1000), 'r').then((o) => (answered = o));
    await jest.advanceTimersByTimeAsync(1000 + PICKUP_GRACE_MS - 1);
    expect(answered).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(failureOf(answered!)).toMatchObject({ code: 'TIMEOUT' });
    expect(service.size).toBe(0);
  });

  it('gives a started call timeoutMs from its start, not from its acceptance', async () => {
    const { service, report } = setup();
    let answered: Msg | Failure | undefined;
    void service.call('echo', 'inv-1', call(1000), 'r').then((o) => (answered = o));
    await jest.advanceTimersByTimeAsync(900);
    report('inv-1', ResponseMessage.state('inv-1', 'RUNNING', meta('w1', 1)));
    await jest.advanceTimersByTimeAsync(999);
    expect(answered).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(failureOf(answered!)).toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('since it started') });
  });

  it('places a call refused before its start on another worker, and answers the refusal when none is left', async () => {
    const { service, sent, report, metric } = setup();
    const outcome = service.call('echo', 'inv-1', call(), 'r');
    report('inv-1', ResponseMessage.failure('inv-1', { code: 'OVERLOADED', message: 'full', retryable: true } as Failure, meta('w1', 1)));
    expect(sent.map((s) => [s.subject, s.attempt])).toEqual([['mesh.worker.w1', '1'], ['mesh.worker.w2', '2']]);
    report('inv-1', ResponseMessage.failure('inv-1', { code: 'OVERLOADED', message: 'full too', retryable: true } as Failure, meta('w2', 2)));
    expect(failureOf(await outcome)).toMatchObject({ code: 'OVERLOADED', message: 'full too' });
    expect(await metric('taskmesh_router_direct_replaced_total')).toBe(1);
  });

  it('places a PENDING call again at once when nats-server says nobody listens on the worker\'s topic', async () => {
    const { service, sent, report } = setup();
    const outcome = service.call('echo', 'inv-1', call(), 'r');
    const noResponders = { data: new Uint8Array(0), headers: { code: 503 }, subject: 'mesh.reply.r1.inv-1' } as unknown as Msg;
    expect(service.onReply('inv-1', noResponders)).toBe(true);
    expect(sent.map((s) => s.subject)).toEqual(['mesh.worker.w1', 'mesh.worker.w2']);
    report('inv-1', ResponseMessage.success('inv-1', 1, meta('w2', 2)));
    expect(ResponseMessage.parse(((await outcome) as Msg).data).worker).toBe('w2');
  });

  it('on a worker\'s expiry, sends an idempotent call to another worker with a fresh deadline; rejects the lost worker\'s late result', async () => {
    const { service, sent, report, expire, metric } = setup({ idempotent: true });
    const outcome = service.call('sleep', 'inv-1', call(1000), 'r');
    report('inv-1', ResponseMessage.state('inv-1', 'RUNNING', meta('w1', 1)));
    await jest.advanceTimersByTimeAsync(800);
    expire('w1');
    expect(sent[1]).toMatchObject({ subject: 'mesh.worker.w2', attempt: '2', body: { deadline: Date.now() + 1000 } });
    expect(report('inv-1', ResponseMessage.success('inv-1', 'late', meta('w1', 1)))).toBe(true);
    expect(await metric('taskmesh_router_direct_rejected_total')).toBe(1);
    report('inv-1', ResponseMessage.success('inv-1', 'ok', meta('w2', 2)));
    expect(ResponseMessage.parse(((await outcome) as Msg).data).result).toBe('ok');
  });

  it('answers WORKER_LOST when the worker of a non-idempotent call expires', async () => {
    const { service, sent, report, expire } = setup({ idempotent: false });
    const outcome = service.call('sleep-once', 'inv-1', call(), 'r');
    report('inv-1', ResponseMessage.state('inv-1', 'RUNNING', meta('w1', 1)));
    expire('w1');
    expect(failureOf(await outcome)).toMatchObject({ code: 'WORKER_LOST', retryable: false });
    expect(sent).toHaveLength(1);
  });

  it('answers INTERNAL and keeps nothing when the REQUEST cannot be sent', async () => {
    const { service } = setup({ failPublish: true });
    expect(failureOf(await service.call('echo', 'inv-1', call(), 'r'))).toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('MAX_PAYLOAD_EXCEEDED') });
    expect(service.size).toBe(0);
  });

  it('answers OVERLOADED when no live worker offers the task', async () => {
    const { service } = setup({ workers: [] });
    expect(failureOf(await service.call('echo', 'inv-1', call(), 'r'))).toMatchObject({ code: 'OVERLOADED', retryable: true });
  });

  it('counts an invalid report of a waiting call, and leaves a message about no direct call to the durable path', async () => {
    const { service, metric } = setup();
    void service.call('echo', 'inv-1', call(), 'r');
    const junk = { data: new TextEncoder().encode('{"v":1}'), subject: 'mesh.reply.r1.inv-1' } as Msg;
    expect(service.onReply('inv-1', junk)).toBe(true);
    expect(await metric('taskmesh_invalid_messages_total')).toBe(1);
    expect(service.onReply('inv-other', junk)).toBe(false);
  });

  it('answers every waiting call OVERLOADED when the router stops', async () => {
    const { service } = setup();
    const outcomes = [service.call('echo', 'a', call(), 'r'), service.call('echo', 'b', call(), 'r')];
    service.onApplicationShutdown();
    expect((await Promise.all(outcomes)).map((o) => failureOf(o).code)).toEqual(['OVERLOADED', 'OVERLOADED']);
  });
});
