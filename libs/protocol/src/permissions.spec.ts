import { inboxPrefix, natsAuthorization, Role, ROLES, rolePermissions } from './permissions.js';

const covers = (pattern: string, subject: string): boolean => {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
};
const mayPublish = (role: Role, subject: string, prefix = 'mesh'): boolean => {
  const { allow, deny = [] } = rolePermissions(role, prefix).publish;
  return allow.some((a) => covers(a, subject)) && !deny.some((d) => covers(d, subject));
};
const maySubscribe = (role: Role, subject: string, prefix = 'mesh'): boolean => rolePermissions(role, prefix).subscribe.allow.some((a) => covers(a, subject));

describe('per-role NATS permissions', () => {
  it('no role but admin may delete or purge a stream, or create one outside the mesh', () => {
    for (const role of ROLES.filter((r) => r !== Role.Admin)) {
      for (const stream of ['MESH_WORK', 'MESH_EVENTS', 'KV_MESH_INVOCATIONS', 'MESH_DLQ']) {
        expect([role, stream, mayPublish(role, `$JS.API.STREAM.DELETE.${stream}`)]).toEqual([role, stream, false]);
        expect([role, stream, mayPublish(role, `$JS.API.STREAM.PURGE.${stream}`)]).toEqual([role, stream, false]);
      }
      expect(mayPublish(role, '$JS.API.STREAM.DELETE.OTHER')).toBe(false);
      expect(mayPublish(role, '$JS.API.STREAM.CREATE.OTHER')).toBe(false);
    }
    expect(mayPublish(Role.Admin, '$JS.API.STREAM.DELETE.MESH_WORK')).toBe(true);
  });

  it('apps answer on the inboxes of those who ask them, with explicit permissions rather than allow_responses', () => {
    // allow_responses makes nats-server walk every remembered reply subject on each delivery (see ANSWERS).
    for (const role of ROLES) expect([role, 'allow_responses' in rolePermissions(role, 'mesh')]).toEqual([role, false]);
    const asks: [Role, Role][] = [
      [Role.Caller, Role.Router], [Role.Caller, Role.Orchestrator], [Role.Caller, Role.Scheduler], [Role.Caller, Role.Worker],
      [Role.Worker, Role.Router], [Role.Scheduler, Role.Router], [Role.Worker, Role.Orchestrator], [Role.Scheduler, Role.Orchestrator],
      [Role.Orchestrator, Role.Worker],
    ];
    for (const [asker, answerer] of asks) {
      const reply = `${inboxPrefix(asker)}.nuid123.7`;
      expect([asker, answerer, mayPublish(answerer, reply)]).toEqual([asker, answerer, true]);
    }
    // Nobody else's inbox: a worker cannot answer in the router's place, nor the scheduler in the worker's.
    for (const [answerer, inboxOf] of [[Role.Worker, Role.Router], [Role.Scheduler, Role.Worker], [Role.Router, Role.Orchestrator], [Role.Caller, Role.Router]] as const) {
      expect([answerer, inboxOf, mayPublish(answerer, `${inboxPrefix(inboxOf)}.x.1`)]).toEqual([answerer, inboxOf, false]);
    }
  });

  it('callers call, submit, read and cancel invocations and dispatches, but cannot queue work, forge NOTIFY or replies, or write KV', () => {
    for (const ok of ['mesh.call.echo', 'mesh.submit.sleep', 'mesh.invocations.get', 'mesh.invocations.cancel', 'mesh.dispatches.create', 'mesh.workers.list', 'mesh.deadletters.list', 'mesh.worker.w1', 'mesh.notify.request', '$SRV.PING']) {
      expect([ok, mayPublish(Role.Caller, ok)]).toEqual([ok, true]);
    }
    for (const no of ['mesh.work.echo', 'mesh.notify', 'mesh.reply.router-1.inv-1', 'mesh.events.invocation.x', '$KV.MESH_INVOCATIONS.x', '$KV.MESH_CANCELLED.x', 'mesh.dlq.echo', '$JS.ACK.MESH_WORK.work_echo.1.1.1.1.1']) {
      expect([no, mayPublish(Role.Caller, no)]).toEqual([no, false]);
    }
    expect(maySubscribe(Role.Caller, 'mesh.call.echo')).toBe(false);
    expect(maySubscribe(Role.Caller, '_INBOX_router.abc')).toBe(false);
  });

  it('the dashboard reads the views, cancels, pauses/resumes and deletes dispatches, but creates nothing and serves nothing', () => {
    for (const ok of ['mesh.invocations.get', 'mesh.invocations.list', 'mesh.invocations.cancel', 'mesh.workers.list', 'mesh.deadletters.list',
      'mesh.dispatches.list', 'mesh.dispatches.update', 'mesh.dispatches.delete', 'mesh.dispatches.upcoming', '$SRV.STATS', '$SRV.STATS.taskmesh-router',
      'mesh.deadletters.redrive', 'mesh.invocations.story', '$JS.API.CONSUMER.CREATE.MESH_EVENTS.abc']) {
      expect([ok, mayPublish(Role.Dashboard, ok)]).toEqual([ok, true]);
    }
    for (const no of ['mesh.call.echo', 'mesh.submit.echo', 'mesh.dispatches.create', 'mesh.work.echo', 'mesh.notify', 'mesh.worker.w1', 'mesh.events.invocation.x',
      '$KV.MESH_INVOCATIONS.x', '$JS.ACK.MESH_EVENTS.c.1.1.1.1.1', 'mesh.story', 'mesh.invocations.wait', '$JS.API.CONSUMER.MSG.NEXT.MESH_EVENTS.orchestrator_recorder']) {
      expect([no, mayPublish(Role.Dashboard, no)]).toEqual([no, false]);
    }
    for (const ok of ['_INBOX_dashboard.x', 'mesh.events.worker.w1', 'mesh.events.invocation.inv-1', 'mesh.events.dispatch.d1']) expect([ok, maySubscribe(Role.Dashboard, ok)]).toEqual([ok, true]);
    for (const no of ['mesh.invocations.get', 'mesh.call.echo', '_INBOX.x', '$SRV.PING']) expect([no, maySubscribe(Role.Dashboard, no)]).toEqual([no, false]);
  });

  it('callers read the event stream through consumers of their own, never through the orchestrator\'s recorder', () => {
    for (const ok of ['$JS.API.CONSUMER.CREATE.MESH_EVENTS.abc', '$JS.API.CONSUMER.CREATE.MESH_EVENTS.abc.mesh.events.invocation.x', '$JS.API.CONSUMER.MSG.NEXT.MESH_EVENTS.abc', '$JS.API.CONSUMER.DELETE.MESH_EVENTS.abc']) {
      expect([ok, mayPublish(Role.Caller, ok)]).toEqual([ok, true]);
    }
    for (const no of ['$JS.API.CONSUMER.CREATE.MESH_EVENTS.orchestrator_recorder', '$JS.API.CONSUMER.CREATE.MESH_EVENTS.orchestrator_recorder.mesh.events.invocation.>', '$JS.API.CONSUMER.MSG.NEXT.MESH_EVENTS.orchestrator_recorder', '$JS.API.CONSUMER.DELETE.MESH_EVENTS.orchestrator_recorder']) {
      expect([no, mayPublish(Role.Caller, no)]).toEqual([no, false]);
    }
    expect(mayPublish(Role.Orchestrator, '$JS.API.CONSUMER.MSG.NEXT.MESH_EVENTS.orchestrator_recorder')).toBe(true);
  });

  it('workers create and update their work consumers but delete none', () => {
    expect(mayPublish(Role.Worker, '$JS.API.CONSUMER.CREATE.MESH_WORK.work_echo.mesh.work.echo')).toBe(true);
    expect(mayPublish(Role.Worker, '$JS.API.CONSUMER.MSG.NEXT.MESH_WORK.work_echo')).toBe(true);
    expect(mayPublish(Role.Worker, '$JS.API.CONSUMER.DELETE.MESH_WORK.work_echo')).toBe(false);
    // Watching the cancellations bucket still cleans up after itself.
    expect(mayPublish(Role.Worker, '$JS.API.CONSUMER.DELETE.KV_MESH_CANCELLED.abc')).toBe(true);
  });

  it('each app may serve only its own request subjects', () => {
    expect(maySubscribe(Role.Router, 'mesh.call.echo')).toBe(true);
    expect(maySubscribe(Role.Orchestrator, 'mesh.call.echo')).toBe(false);
    expect(maySubscribe(Role.Worker, 'mesh.call.echo')).toBe(false);
    expect(maySubscribe(Role.Orchestrator, 'mesh.invocations.get')).toBe(true);
    expect(maySubscribe(Role.Router, 'mesh.invocations.get')).toBe(false);
    expect(maySubscribe(Role.Scheduler, 'mesh.dispatches.create')).toBe(true);
    expect(maySubscribe(Role.Worker, 'mesh.worker.w1')).toBe(true);
    expect(maySubscribe(Role.Router, 'mesh.worker.w1')).toBe(false);
    // Only a worker beats; only a router queues work (and the orchestrator, to redrive a dead letter) and announces
    // workers joining.
    expect(ROLES.filter((r) => mayPublish(r, 'mesh.notify'))).toEqual([Role.Worker, Role.Admin]);
    expect(ROLES.filter((r) => mayPublish(r, 'mesh.work.echo'))).toEqual([Role.Router, Role.Orchestrator, Role.Admin]);
    expect(ROLES.filter((r) => mayPublish(r, 'mesh.events.worker.w1'))).toEqual([Role.Router, Role.Admin]);
  });

  it('only an operator (admin, or through the dashboard) redrives dead letters; only the orchestrator asks the workers for a story', () => {
    expect(ROLES.filter((r) => mayPublish(r, 'mesh.deadletters.redrive'))).toEqual([Role.Dashboard, Role.Admin]);
    expect(ROLES.filter((r) => maySubscribe(r, 'mesh.deadletters.redrive'))).toEqual([Role.Orchestrator, Role.Admin]);
    // A caller reads a story through the orchestrator (`mesh.invocations.story`), never from the workers directly.
    expect(mayPublish(Role.Caller, 'mesh.invocations.story')).toBe(true);
    expect(ROLES.filter((r) => mayPublish(r, 'mesh.story'))).toEqual([Role.Orchestrator, Role.Admin]);
    expect(ROLES.filter((r) => maySubscribe(r, 'mesh.story'))).toEqual([Role.Worker, Role.Admin]);
    // The redrive removes the dead letter it put back.
    expect(mayPublish(Role.Orchestrator, '$JS.API.STREAM.MSG.DELETE.MESH_DLQ')).toBe(true);
  });

  it('each app reads its replies on its own inbox prefix, which no other role may subscribe to', () => {
    const apps = [Role.Router, Role.Orchestrator, Role.Scheduler, Role.Worker, Role.Dashboard];
    for (const app of apps) {
      expect(inboxPrefix(app)).toBe(`_INBOX_${app}`);
      expect(ROLES.filter((r) => maySubscribe(r, `${inboxPrefix(app)}.x`))).toEqual([app, Role.Admin]);
    }
    expect(inboxPrefix(Role.Caller)).toBe('_INBOX');
  });

  it('follows the prefix', () => {
    expect(mayPublish(Role.Caller, 'acme.jobs.call.echo', 'acme.jobs')).toBe(true);
    expect(mayPublish(Role.Caller, 'mesh.call.echo', 'acme.jobs')).toBe(false);
    expect(mayPublish(Role.Worker, '$JS.API.CONSUMER.MSG.NEXT.ACME_JOBS_WORK.work_echo', 'acme.jobs')).toBe(true);
  });

  it('renders an authorization block with one user per entry and no accounts block', () => {
    const text = natsAuthorization([{ user: 'router', password: '$2a$11$abc', role: Role.Router }, { user: 'ops', password: 'x', role: Role.Admin }], 'mesh');
    expect(text.startsWith('authorization {')).toBe(true);
    expect(text).not.toMatch(/accounts/);
    const parsed = JSON.parse(text.slice('authorization '.length)) as { users: Array<{ user: string; password: string; permissions: unknown }> };
    expect(parsed.users.map((u) => u.user)).toEqual(['router', 'ops']);
    expect(parsed.users[0]!.password).toBe('$2a$11$abc');
    expect(parsed.users[0]!.permissions).toEqual(rolePermissions(Role.Router, 'mesh'));
  });
});
