import { meshNames } from './mesh-names.js';
import { Subjects } from './subjects.js';

/**
 * Who may publish and subscribe to what: one NATS user per role, each allowed only the subjects its part of the
 * mesh uses, including the exact JetStream API subjects on the mesh's own streams, buckets and consumers. Built from
 * the same Subjects and meshNames as the code that uses them, so the permissions cannot drift from the protocol
 * (docs/PROTOCOL.md section 10 lists them). Pure: `natsAuthorization` renders a nats-server `authorization` block.
 *
 * Every app declares the topology it needs at boot (create if missing, update its bounds), so every app role may
 * read, create and update the mesh's streams, but none may delete or purge one: only `admin` can. Each app role has
 * its own inbox prefix (`_INBOX_<role>`): no other role can subscribe to its replies.
 */
export const Role = {
  Router: 'router',
  Orchestrator: 'orchestrator',
  Scheduler: 'scheduler',
  Worker: 'worker',
  /** The web dashboard: reads what its views show; may cancel, pause, resume or delete a dispatch, redrive. */
  Dashboard: 'dashboard',
  /** Any program that calls tasks: the SDK, the CLI, `nats req`. */
  Caller: 'caller',
  /** Operators: everything, including deleting streams and redriving dead letters (`mesh.deadletters.redrive`). */
  Admin: 'admin',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** The roles, apps first. */
export const ROLES: readonly Role[] = Object.values(Role);

/** One role's NATS permissions (nats-server's `permissions` block). */
export interface RolePermissions {
  /** `deny` carves out of `allow` what the role must not touch among subjects it otherwise may (nats-server checks it last). */
  publish: { allow: string[]; deny?: string[] };
  subscribe: { allow: string[] };
}

/**
 * The inbox prefix a role's connections use (nats.js `inboxPrefix`): `_INBOX_<role>` for the apps. Callers keep
 * NATS's default `_INBOX`, so any NATS client (the `nats` CLI, a Nest ClientProxy) can call the mesh as a caller.
 */
export function inboxPrefix(role: Role): string {
  return role === Role.Caller || role === Role.Admin ? '_INBOX' : `_INBOX_${role}`;
}

const API = '$JS.API';

/**
 * Whose requests each app answers, besides callers and operators (who use `_INBOX`): it may publish into their
 * inboxes. Apps get these explicit reply permissions rather than nats-server's `allow_responses`: that option
 * remembers the reply subject of every message a client receives (every JetStream delivery carries its ack subject
 * as one) for 2 minutes, and past 4,096 of them walks the whole list on each delivery. A worker or orchestrator then
 * slowed from about 45k to under 1k messages a second (measured on nats-server 2.9.10).
 */
const ANSWERS: Readonly<Partial<Record<Role, readonly Role[]>>> = {
  // Child calls (mesh.call from a worker), dispatch submits (mesh.submit from the scheduler); the dashboard's
  // mesh.workers.list and $SRV.STATS (every app answers it).
  router: ['worker', 'scheduler', 'dashboard'],
  // mesh.invocations.cancel of an abandoned child (worker), mesh.invocations.get (scheduler); the dashboard's views.
  orchestrator: ['worker', 'scheduler', 'dashboard'],
  // The dashboard's mesh.dispatches.* and $SRV.STATS.
  scheduler: ['dashboard'],
  // Story gathers (mesh.story from the orchestrator), the dashboard's $SRV.STATS; direct calls are answered on
  // mesh.reply.>.
  worker: ['orchestrator', 'dashboard'],
};

/** The permissions of `role` on the mesh of `prefix`. */
export function rolePermissions(role: Role, prefix: string): RolePermissions {
  const s = new Subjects(prefix);
  const n = meshNames(prefix);
  const p = s.prefix;
  const streams = [
    n.workStream, n.eventStream, n.deadLetterStream, n.exhaustedStream, n.tasksBucketStream, n.invocationsBucketStream,
    n.cancelledBucketStream, n.claimsBucketStream, n.dispatchesBucketStream, n.leasesBucketStream,
  ];
  const kv = (bucket: string): string => `$KV.${bucket}.>`;
  const msgGet = (stream: string): string => `${API}.STREAM.MSG.GET.${stream}`;
  const msgDelete = (stream: string): string => `${API}.STREAM.MSG.DELETE.${stream}`;
  /** Read a stream through consumers of its own: named or ephemeral (walks, watches, ordered consumers). */
  const consume = (stream: string): string[] => [
    `${API}.CONSUMER.CREATE.${stream}`, `${API}.CONSUMER.CREATE.${stream}.>`, `${API}.CONSUMER.INFO.${stream}.*`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.*`, `${API}.CONSUMER.DELETE.${stream}.*`, `$JS.FC.${stream}.>`, `$JS.ACK.${stream}.>`,
  ];
  /**
   * Readers of the event stream through consumers of their own (callers, the dashboard) never touch the orchestrator's
   * recorder: taking its messages, redefining or deleting it would stop invocations being recorded.
   */
  const recorderDeny = [
    `${API}.CONSUMER.CREATE.${n.eventStream}.${n.recorderConsumer}`, `${API}.CONSUMER.CREATE.${n.eventStream}.${n.recorderConsumer}.>`,
    `${API}.CONSUMER.DELETE.${n.eventStream}.${n.recorderConsumer}`, `${API}.CONSUMER.MSG.NEXT.${n.eventStream}.${n.recorderConsumer}`,
  ];
  /**
   * Every app: discover JetStream, declare the topology (read, create, update; never delete), answer $SRV and the
   * requests of callers, operators and the roles in ANSWERS on their inboxes.
   */
  const app = (publish: string[], subscribe: string[]): RolePermissions => ({
    publish: {
      allow: [
        `${API}.INFO`,
        ...streams.flatMap((x) => [`${API}.STREAM.INFO.${x}`, `${API}.STREAM.CREATE.${x}`, `${API}.STREAM.UPDATE.${x}`]),
        `${inboxPrefix(Role.Caller)}.>`, ...(ANSWERS[role] ?? []).map((r) => `${inboxPrefix(r)}.>`),
        ...publish,
      ],
    },
    subscribe: { allow: [`${inboxPrefix(role)}.>`, '$SRV.>', ...subscribe] },
  });

  switch (role) {
    case Role.Router:
      return app(
        [
          s.workAll(), `${p}.worker.*`, `${p}.reply.>`, s.workerEventsAll(), s.notifyRequest(),
          kv(n.invocationsBucket), kv(n.claimsBucket), msgGet(n.invocationsBucketStream), msgGet(n.claimsBucketStream),
          msgGet(n.eventStream), msgDelete(n.invocationsBucketStream), msgDelete(n.claimsBucketStream),
          ...consume(n.tasksBucketStream), ...consume(n.invocationsBucketStream),
          msgGet(n.tasksBucketStream), // the offers already made, read one by one at boot (TaskCatalog.offers)
        ],
        [s.callAll(), s.submitAll(), s.workersList(), s.notify(), `${p}.reply.*.*`, s.invocationEventsAll()],
      );
    case Role.Orchestrator:
      return app(
        [
          s.invocationEventsAll(), `${p}.reply.>`, s.deadLettersAll(), s.invocations('cancel'),
          // Redrive queues work again and removes its dead letter; story asks the workers.
          s.workAll(), s.story(),
          kv(n.invocationsBucket), kv(n.cancelledBucket), kv(n.claimsBucket),
          msgGet(n.invocationsBucketStream), msgGet(n.claimsBucketStream), msgGet(n.eventStream), msgGet(n.deadLetterStream), msgGet(n.workStream),
          msgDelete(n.invocationsBucketStream), msgDelete(n.claimsBucketStream), msgDelete(n.workStream), msgDelete(n.deadLetterStream),
          ...consume(n.eventStream), ...consume(n.exhaustedStream), ...consume(n.invocationsBucketStream), ...consume(n.claimsBucketStream),
        ],
        [s.invocationsAll(), s.deadLettersList(), s.deadLettersRedrive()],
      );
    case Role.Scheduler:
      return app(
        [
          s.submitAll(), s.dispatchEventsAll(), s.invocations('get'),
          kv(n.dispatchesBucket), kv(n.leasesBucket), msgGet(n.dispatchesBucketStream), msgGet(n.leasesBucketStream), msgGet(n.tasksBucketStream),
          ...consume(n.dispatchesBucketStream), ...consume(n.tasksBucketStream),
          msgGet(n.invocationsBucketStream), // a late occurrence is skipped if its invocation exists (SchedulerService.fire)
        ],
        [s.dispatchesAll()],
      );
    case Role.Worker:
      return app(
        [
          s.notify(), s.notifyRequest(), s.invocationEventsAll(), s.deadLettersAll(), s.callAll(), s.invocations('cancel'), `${p}.reply.>`,
          kv(n.tasksBucket), kv(n.claimsBucket), msgGet(n.claimsBucketStream), msgGet(n.invocationsBucketStream), msgGet(n.eventStream),
          // Workers create and update their task consumers; none deletes one from under the others.
          msgDelete(n.claimsBucketStream), ...consume(n.workStream).filter((x) => !x.startsWith(`${API}.CONSUMER.DELETE.`)), ...consume(n.cancelledBucketStream),
        ],
        [`${p}.worker.*`, s.notify(), s.notifyRequest(), s.story()],
      );
    case Role.Dashboard:
      // Read-mostly: it declares no topology and answers nothing over NATS (its API is HTTP), so it is not an app().
      // Its operator actions: cancel, pause/resume (update) and delete a dispatch, redrive a dead letter.
      return {
        publish: {
          allow: [
            s.invocations('get'), s.invocations('list'), s.invocations('cancel'), s.invocations('story'), s.deadLettersList(), s.deadLettersRedrive(), s.workersList(),
            s.dispatches('list'), s.dispatches('get'), s.dispatches('update'), s.dispatches('delete'), s.dispatches('upcoming'),
            '$SRV.STATS', '$SRV.STATS.>', `${API}.INFO`, `${API}.STREAM.INFO.${n.eventStream}`,
            ...consume(n.eventStream).filter((x) => !x.startsWith('$JS.ACK')),
          ],
          deny: recorderDeny,
        },
        subscribe: { allow: [`${inboxPrefix(role)}.>`, s.workerEventsAll(), s.invocationEventsAll(), s.dispatchEventsAll()] },
      };
    case Role.Caller:
      return {
        publish: {
          allow: [
            s.callAll(), s.submitAll(), s.invocationsAll(), s.dispatchesAll(), s.deadLettersList(), s.workersList(),
            s.notifyRequest(), `${p}.worker.*`, '$SRV.>', `${API}.INFO`,
            `${API}.STREAM.INFO.${n.eventStream}`, `${API}.STREAM.INFO.${n.tasksBucketStream}`,
            ...consume(n.eventStream).filter((x) => !x.startsWith('$JS.ACK')), ...consume(n.tasksBucketStream).filter((x) => !x.startsWith('$JS.ACK')),
          ],
          deny: recorderDeny,
        },
        subscribe: { allow: [`${inboxPrefix(role)}.>`, s.dispatchEventsAll(), s.notify(), `${p}.reply.>`] },
      };
    case Role.Admin:
      return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
  }
}

/** One user of the generated configuration. */
export interface MeshUser {
  user: string;
  /** The password as nats-server reads it: a bcrypt hash (`$2a$...`) in production. */
  password: string;
  role: Role;
}

/**
 * The nats-server `authorization { users = [...] }` block for `users` on the mesh of `prefix` (JSON, which the
 * nats-server configuration format accepts). No `accounts` block: with an `authorization` block alone, a client
 * without valid credentials is refused (nats-server 2.9.10's CVE-2023-47090 needs both).
 */
export function natsAuthorization(users: readonly MeshUser[], prefix: string): string {
  const entries = users.map((u) => ({ user: u.user, password: u.password, permissions: rolePermissions(u.role, prefix) }));
  return `authorization ${JSON.stringify({ users: entries }, null, 2)}\n`;
}
