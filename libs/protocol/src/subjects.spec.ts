import { InvalidSubjectTokenError, MeshError } from './errors.js';
import { assertToken, Subjects } from './subjects.js';

const BAD_TOKENS: Array<[string, string]> = [
  ['empty', ''],
  ['dot', 'a.b'],
  ['star', 'a*'],
  ['gt', '>'],
  ['space', 'a b'],
  ['tab', 'a\tb'],
  ['newline', 'a\nb'],
  ['control character', 'a\u0001'],
  ['DEL', 'a\u007f'],
  ['unicode space', 'a\u00a0b'],
];

describe(Subjects.name, () => {
  const s = new Subjects();

  it('builds every subject of the hierarchy under the default prefix', () => {
    expect(s.prefix).toBe('mesh');
    expect(s.call('echo')).toBe('mesh.call.echo');
    expect(s.callAll()).toBe('mesh.call.*');
    expect(s.submit('echo')).toBe('mesh.submit.echo');
    expect(s.submitAll()).toBe('mesh.submit.*');
    expect(s.work('echo')).toBe('mesh.work.echo');
    expect(s.workAll()).toBe('mesh.work.>');
    expect(s.keyedWork('echo', 3)).toBe('mesh.work.echo.3');
    expect(s.keyedWorkShard(3)).toBe('mesh.work.*.3');
    expect(s.notify()).toBe('mesh.notify');
    expect(s.notifyRequest()).toBe('mesh.notify.request');
    expect(s.workersList()).toBe('mesh.workers.list');
    expect(s.workerEvent('w-1')).toBe('mesh.events.worker.w-1');
    expect(s.workerEventsAll()).toBe('mesh.events.worker.*');
    expect(s.workerTopic('w-1')).toBe('mesh.worker.w-1');
    expect(s.reply('r1', 'order-981')).toBe('mesh.reply.r1.order-981');
    expect(s.replyAll('r1')).toBe('mesh.reply.r1.*');
    expect(s.invocationEvent('dispatch:d1:1700000000000')).toBe('mesh.events.invocation.dispatch:d1:1700000000000');
    expect(s.invocationEventsAll()).toBe('mesh.events.invocation.>');
    expect(s.invocations('get')).toBe('mesh.invocations.get');
    expect(s.invocations('wait')).toBe('mesh.invocations.wait');
    expect(s.invocations('cancel')).toBe('mesh.invocations.cancel');
    expect(s.invocations('list')).toBe('mesh.invocations.list');
    expect(s.invocationsAll()).toBe('mesh.invocations.*');
    expect(s.invocations('story')).toBe('mesh.invocations.story');
    expect(s.deadLettersRedrive()).toBe('mesh.deadletters.redrive');
    expect(s.story()).toBe('mesh.story');
    for (const op of ['create', 'update', 'get', 'list', 'delete'] as const) expect(s.dispatches(op)).toBe(`mesh.dispatches.${op}`);
    expect(s.dispatchesAll()).toBe('mesh.dispatches.*');
    expect(s.dispatchEvent('d1')).toBe('mesh.events.dispatch.d1');
    expect(s.dispatchEventsAll()).toBe('mesh.events.dispatch.*');
  });

  it('uses a custom, multi-token prefix', () => {
    const t = new Subjects('acme.prod');
    expect(t.call('echo')).toBe('acme.prod.call.echo');
    expect(t.workAll()).toBe('acme.prod.work.>');
    expect(t.taskOf('acme.prod.submit.echo')).toBe('echo');
    expect(t.taskOf('mesh.submit.echo')).toBeUndefined();
  });

  it.each([['empty', ''], ['leading dot', '.mesh'], ['trailing dot', 'mesh.'], ['double dot', 'a..b'], ['wildcard', 'mesh.*'], ['space', 'me sh']])(
    'refuses a prefix with %s',
    (_name, prefix) => {
      expect(() => new Subjects(prefix)).toThrow(InvalidSubjectTokenError);
    },
  );

  it.each(BAD_TOKENS)('refuses a token with %s in every builder that takes one', (_name, token) => {
    const builders: Array<() => string> = [
      () => s.call(token),
      () => s.submit(token),
      () => s.work(token),
      () => s.keyedWork(token, 0),
      () => s.workerEvent(token),
      () => s.workerTopic(token),
      () => s.reply(token, 'id'),
      () => s.reply('router', token),
      () => s.replyAll(token),
      () => s.invocationEvent(token),
      () => s.dispatchEvent(token),
    ];
    for (const build of builders) expect(build).toThrow(InvalidSubjectTokenError);
  });

  it.each([-1, 1.5, Number.NaN])('refuses key shard %p', (shard) => {
    expect(() => s.keyedWork('echo', shard)).toThrow(InvalidSubjectTokenError);
    expect(() => s.keyedWorkShard(shard)).toThrow(InvalidSubjectTokenError);
  });

  it('refuses an unknown operation', () => {
    expect(() => s.invocations('drop' as 'get')).toThrow(InvalidSubjectTokenError);
    expect(() => s.dispatches('get.x' as 'get')).toThrow(InvalidSubjectTokenError);
  });

  it.each([
    ['mesh.call.echo', 'echo'],
    ['mesh.submit.sleep', 'sleep'],
    ['mesh.work.echo', 'echo'],
    ['mesh.work.echo.3', 'echo'],
    ['mesh.call', undefined],
    ['mesh.call.echo.extra', undefined],
    ['mesh.notify', undefined],
    ['mesh.call.*', undefined],
    ['mesh.work.>', undefined],
    ['other.call.echo', undefined],
    ['meshy.call.echo', undefined],
    ['', undefined],
  ])('taskOf(%j) is %j', (subject, task) => {
    expect(s.taskOf(subject)).toBe(task);
  });
});

describe(assertToken.name, () => {
  it('returns a valid token', () => {
    expect(assertToken('order-981:x_y', 'invocation id')).toBe('order-981:x_y');
  });

  it.each(BAD_TOKENS)('throws a BAD_REQUEST InvalidSubjectTokenError for %s, naming what it was', (_name, token) => {
    let thrown: unknown;
    try {
      assertToken(token, 'task');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidSubjectTokenError);
    expect(thrown).toBeInstanceOf(MeshError);
    const error = thrown as InvalidSubjectTokenError;
    expect(error.code).toBe('BAD_REQUEST');
    expect(error.what).toBe('task');
    expect(error.message).toMatch(/^task /);
  });

  it('refuses a non-string at run time', () => {
    expect(() => assertToken(42 as unknown as string, 'task')).toThrow(InvalidSubjectTokenError);
  });
});
