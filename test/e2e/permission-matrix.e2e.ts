// The permission matrix: a mesh runs as its per-role users on a nats-server with the authorization block
// `taskmesh auth init` writes (docs/PROTOCOL.md section 10), every role does what it needs, and each row of the
// table below, something a role must not do, is refused twice over: the client sees the refusal (nats.js 3.4 rejects
// the request, closes the subscription with the error, or reports a PermissionViolationError in `nc.status()`), and
// nats-server logs the violation for that user and that exact subject. Logins that must fail are refused too.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { types } from 'node:util';
import { jest } from '@jest/globals';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { AuthorizationError, connect, PermissionViolationError, type NatsConnection } from '@nats-io/transport-node';
import { generateMeshAuth, type MeshAuth } from '@taskmesh/cli';
import { MeshClient } from '@taskmesh/client';
import { inboxPrefix, meshNames, Role, rolePermissions, Subjects } from '@taskmesh/protocol';
import { ProcessGroup, spawnApp, startNatsServer, waitFor, type AppProcess, type NatsServer } from '@taskmesh/testing';

jest.setTimeout(180_000);

const s = new Subjects('mesh');
const n = meshNames('mesh');
const API = '$JS.API';

/** One role's own connection for the matrix, with the permission errors nats.js reported on it. */
interface RoleConnection {
  role: Role;
  nc: NatsConnection;
  jsm: JetStreamManager;
  kv(bucket: string): Promise<KV>;
  /** PermissionViolationErrors seen in `nc.status()`, oldest first. */
  refusals: PermissionViolationError[];
}

/** What nats-server refuses: a publish (every request and JetStream API call is one) or a subscription. */
type Refused = 'publish' | 'subscription';

/** A forbidden operation: who tries it, what it is, why it must be refused, and what the server must refuse. */
interface Forbidden {
  role: Role;
  op: string;
  why: string;
  refused: Refused;
  /** The refused subject; a pattern only where the library picks part of it (a random consumer name). */
  subject: string | RegExp;
  /** Tries the operation; resolves with the error the client saw (undefined: it saw none). */
  attempt(c: RoleConnection): Promise<unknown>;
}

const A_WHILE_MS = 5_000;

/** A plain publish (a string body goes as is): nats.js reports the refusal only in `nc.status()`. */
const publish = (subject: string, body: unknown = {}) => async (c: RoleConnection): Promise<unknown> => {
  c.nc.publish(subject, typeof body === 'string' ? body : JSON.stringify(body));
  await c.nc.flush();
  return waitFor(() => c.refusals.find((e) => e.operation === 'publish' && e.subject === subject), { timeoutMs: A_WHILE_MS, what: `a refusal of ${subject} in nc.status()` })
    .catch(() => undefined);
};

/** A request: nats.js rejects it (a RequestError caused by the PermissionViolationError). */
const request = (subject: string, body: unknown = {}) => async (c: RoleConnection): Promise<unknown> =>
  c.nc.request(subject, JSON.stringify(body), { timeout: A_WHILE_MS }).then(() => undefined, (err: unknown) => err);

/** A subscription (optionally in a queue group): nats.js closes it with the PermissionViolationError. */
const subscribe = (subject: string, queue?: string) => async (c: RoleConnection): Promise<unknown> => {
  const sub = c.nc.subscribe(subject, queue === undefined ? {} : { queue });
  await c.nc.flush();
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([sub.closed, new Promise((resolve) => (timer = setTimeout(() => resolve('still open'), A_WHILE_MS)))]);
  clearTimeout(timer);
  if (!sub.isClosed()) sub.unsubscribe();
  return closed;
};

/** A JetStream or KV call of the library: it rejects with the request's error. */
const jetstream = (call: (c: RoleConnection) => Promise<unknown>) => async (c: RoleConnection): Promise<unknown> =>
  call(c).then(() => undefined, (err: unknown) => err);

const NOTIFY = { v: 1, type: 'NOTIFY', worker: 'forged', topic: s.workerTopic('forged'), tasks: ['echo'], seq: 1 };
const RESPONSE = { v: 1, type: 'RESPONSE', id: 'victim-1', state: 'SUCCESS', data: { result: 'forged' }, attempt: 1, worker: 'forged' };
const REQUEST = { v: 1, type: 'REQUEST', id: 'forged-1', task: 'echo', args: null };
const PULL = { batch: 1, no_wait: true };
/** Where the orchestrator records invocations from the event stream: no other role may take its messages or redefine it. */
const RECORDER = `${n.eventStream}.${n.recorderConsumer}`;

// Each row is one operation a role must not do. Together: JetStream streams and consumers, direct KV reads and
// writes, forged protocol messages, other roles' subscriptions and inboxes, and mesh APIs a role may not call.
const FORBIDDEN: Forbidden[] = [
  // worker
  { role: Role.Worker, op: 'delete the work stream', why: 'only admin deletes streams: every queued call would be lost', refused: 'publish',
    subject: `${API}.STREAM.DELETE.${n.workStream}`, attempt: jetstream((c) => c.jsm.streams.delete(n.workStream)) },
  { role: Role.Worker, op: 'purge the work stream', why: 'a purge drops every queued call', refused: 'publish',
    subject: `${API}.STREAM.PURGE.${n.workStream}`, attempt: jetstream((c) => c.jsm.streams.purge(n.workStream)) },
  { role: Role.Worker, op: 'destroy the invocations bucket', why: 'the records are the mesh\'s memory; only admin deletes a stream', refused: 'publish',
    subject: `${API}.STREAM.DELETE.${n.invocationsBucketStream}`, attempt: jetstream(async (c) => (await c.kv(n.invocationsBucket)).destroy()) },
  { role: Role.Worker, op: 'write an invocation record', why: 'a worker reports outcomes as events; the orchestrator writes the record', refused: 'publish',
    subject: `$KV.${n.invocationsBucket}.forged-1`, attempt: jetstream(async (c) => (await c.kv(n.invocationsBucket)).put('forged-1', '{}')) },
  { role: Role.Worker, op: 'write a cancellation into the bucket', why: 'cancelling goes through the orchestrator (mesh.invocations.cancel), which checks it', refused: 'publish',
    subject: `$KV.${n.cancelledBucket}.victim-1`, attempt: jetstream(async (c) => (await c.kv(n.cancelledBucket)).put('victim-1', '{}')) },
  { role: Role.Worker, op: 'read the dispatches bucket', why: 'dispatches are the scheduler\'s', refused: 'publish',
    subject: `${API}.STREAM.MSG.GET.${n.dispatchesBucketStream}`, attempt: jetstream(async (c) => (await c.kv(n.dispatchesBucket)).get('any')) },
  { role: Role.Worker, op: 'delete a message of the work stream', why: 'work leaves the queue by ack, or the orchestrator removes exhausted work', refused: 'publish',
    subject: `${API}.STREAM.MSG.DELETE.${n.workStream}`, attempt: jetstream((c) => c.jsm.streams.deleteMessage(n.workStream, 1)) },
  { role: Role.Worker, op: 'delete its task\'s work consumer', why: 'workers create and update their consumers, never delete one under the others', refused: 'publish',
    subject: `${API}.CONSUMER.DELETE.${n.workStream}.${n.taskConsumer('echo')}`, attempt: jetstream((c) => c.jsm.consumers.delete(n.workStream, n.taskConsumer('echo'))) },
  { role: Role.Worker, op: 'create a consumer on the event stream', why: 'only the orchestrator (and callers following one invocation) read events', refused: 'publish',
    subject: `${API}.CONSUMER.CREATE.${n.eventStream}.spy`, attempt: jetstream((c) => c.jsm.consumers.add(n.eventStream, { durable_name: 'spy' })) },
  { role: Role.Worker, op: 'queue work behind the router', why: 'the router admits work (dedup, claims, records)', refused: 'publish',
    subject: s.work('echo'), attempt: publish(s.work('echo'), REQUEST) },
  { role: Role.Worker, op: 'announce a worker joining', why: 'worker events are the router\'s verdict, not a worker\'s claim', refused: 'publish',
    subject: s.workerEvent('w9'), attempt: publish(s.workerEvent('w9'), { v: 1, event: 'joined', worker: 'w9' }) },
  { role: Role.Worker, op: 'list invocations', why: 'a worker sees the work it is given, not every result', refused: 'publish',
    subject: s.invocations('list'), attempt: request(s.invocations('list')) },
  { role: Role.Worker, op: 'create a dispatch', why: 'schedules are made by callers through the scheduler', refused: 'publish',
    subject: s.dispatches('create'), attempt: request(s.dispatches('create'), { task: 'echo', start: new Date().toISOString() }) },
  { role: Role.Worker, op: 'serve calls in the router\'s queue group', why: 'it would take callers\' requests from the router', refused: 'subscription',
    subject: s.call('echo'), attempt: subscribe(s.call('echo'), 'router') },
  { role: Role.Worker, op: 'read the router\'s inbox', why: 'each app\'s replies are its own', refused: 'subscription',
    subject: `${inboxPrefix(Role.Router)}.>`, attempt: subscribe(`${inboxPrefix(Role.Router)}.>`) },
  { role: Role.Worker, op: 'serve the orchestrator\'s API', why: 'it could answer get/list with forged records', refused: 'subscription',
    subject: s.invocationsAll(), attempt: subscribe(s.invocationsAll()) },

  // caller
  { role: Role.Caller, op: 'delete the event stream', why: 'only admin deletes streams', refused: 'publish',
    subject: `${API}.STREAM.DELETE.${n.eventStream}`, attempt: jetstream((c) => c.jsm.streams.delete(n.eventStream)) },
  { role: Role.Caller, op: 'update the work stream\'s configuration', why: 'callers do not declare the topology; shrinking a limit drops work', refused: 'publish',
    subject: `${API}.STREAM.UPDATE.${n.workStream}`, attempt: request(`${API}.STREAM.UPDATE.${n.workStream}`, { name: n.workStream, subjects: [s.workAll()], max_msgs: 1 }) },
  { role: Role.Caller, op: 'create a stream capturing the mesh\'s subjects', why: 'it would record every reply and event of every caller', refused: 'publish',
    subject: `${API}.STREAM.CREATE.SPY`, attempt: jetstream((c) => c.jsm.streams.add({ name: 'SPY', subjects: ['mesh.reply.>'] })) },
  { role: Role.Caller, op: 'forge a NOTIFY', why: 'a fake worker would be given work it never runs', refused: 'publish',
    subject: s.notify(), attempt: publish(s.notify(), NOTIFY) },
  { role: Role.Caller, op: 'forge a worker\'s reply to the router', why: 'it would decide another caller\'s outcome', refused: 'publish',
    subject: s.reply('router-1', 'victim-1'), attempt: publish(s.reply('router-1', 'victim-1'), RESPONSE) },
  { role: Role.Caller, op: 'forge an invocation event', why: 'the recorder would write a state nobody reached', refused: 'publish',
    subject: s.invocationEvent('victim-1'), attempt: publish(s.invocationEvent('victim-1'), RESPONSE) },
  { role: Role.Caller, op: 'publish work', why: 'work goes through the router (validation, dedup, claims)', refused: 'publish',
    subject: s.work('sleep'), attempt: publish(s.work('sleep'), REQUEST) },
  { role: Role.Caller, op: 'publish a dead letter', why: 'dead letters are the mesh\'s record of lost work', refused: 'publish',
    subject: s.deadLetter('echo'), attempt: publish(s.deadLetter('echo'), REQUEST) },
  { role: Role.Caller, op: 'ack a message of the work stream', why: 'an ack removes someone\'s queued call', refused: 'publish',
    subject: `$JS.ACK.${n.workStream}.${n.taskConsumer('echo')}.1.1.1.1.0`, attempt: publish(`$JS.ACK.${n.workStream}.${n.taskConsumer('echo')}.1.1.1.1.0`, '+ACK') },
  { role: Role.Caller, op: 'read a dispatch from the dispatches bucket', why: 'callers see dispatches through the scheduler\'s API (mesh.dispatches.get|list), not the bucket', refused: 'publish',
    subject: `${API}.STREAM.MSG.GET.${n.dispatchesBucketStream}`, attempt: jetstream(async (c) => (await c.kv(n.dispatchesBucket)).get('any')) },
  { role: Role.Caller, op: 'list the dispatches bucket\'s keys', why: 'listing goes through mesh.dispatches.list, not the bucket', refused: 'publish',
    subject: new RegExp(`^\\${API}\\.CONSUMER\\.CREATE\\.${n.dispatchesBucketStream}(\\..+)?$`),
    attempt: jetstream((c) => c.jsm.consumers.add(n.dispatchesBucketStream, { name: 'lister', filter_subject: `$KV.${n.dispatchesBucket}.>` })) },
  { role: Role.Caller, op: 'read the scheduler\'s leases', why: 'leases are the schedulers\' leader election', refused: 'publish',
    subject: `${API}.STREAM.MSG.GET.${n.leasesBucketStream}`, attempt: jetstream(async (c) => (await c.kv(n.leasesBucket)).get('scheduler')) },
  { role: Role.Caller, op: 'read the claims bucket', why: 'claims are the router\'s and workers\' bookkeeping', refused: 'publish',
    subject: `${API}.STREAM.MSG.GET.${n.claimsBucketStream}`, attempt: jetstream(async (c) => (await c.kv(n.claimsBucket)).get('any')) },
  { role: Role.Caller, op: 'write a dispatch into the bucket', why: 'it would bypass the scheduler\'s validation', refused: 'publish',
    subject: `$KV.${n.dispatchesBucket}.forged`, attempt: jetstream(async (c) => (await c.kv(n.dispatchesBucket)).put('forged', '{}')) },
  { role: Role.Caller, op: 'write an invocation record', why: 'records are written by the router and the orchestrator only', refused: 'publish',
    subject: `$KV.${n.invocationsBucket}.victim-1`, attempt: jetstream(async (c) => (await c.kv(n.invocationsBucket)).put('victim-1', '{}')) },
  { role: Role.Caller, op: 'write a cancellation into the bucket', why: 'cancelling goes through mesh.invocations.cancel', refused: 'publish',
    subject: `$KV.${n.cancelledBucket}.victim-2`, attempt: jetstream(async (c) => (await c.kv(n.cancelledBucket)).put('victim-2', '{}')) },
  { role: Role.Caller, op: 'create a consumer on the work stream', why: 'a work-queue consumer takes the calls off the queue', refused: 'publish',
    subject: `${API}.CONSUMER.CREATE.${n.workStream}.thief`, attempt: jetstream((c) => c.jsm.consumers.add(n.workStream, { durable_name: 'thief' })) },
  { role: Role.Caller, op: 'delete the orchestrator\'s recorder consumer', why: 'invocations would stop being recorded', refused: 'publish',
    subject: `${API}.CONSUMER.DELETE.${RECORDER}`, attempt: jetstream((c) => c.jsm.consumers.delete(n.eventStream, n.recorderConsumer)) },
  { role: Role.Caller, op: 'pull from the orchestrator\'s recorder consumer', why: 'the caller would take events the recorder must write', refused: 'publish',
    subject: `${API}.CONSUMER.MSG.NEXT.${RECORDER}`, attempt: request(`${API}.CONSUMER.MSG.NEXT.${RECORDER}`, PULL) },
  { role: Role.Caller, op: 'redefine the orchestrator\'s recorder consumer', why: 'its ack wait and limits are the orchestrator\'s', refused: 'publish',
    subject: new RegExp(`^\\${API}\\.CONSUMER\\.CREATE\\.${RECORDER}(\\..+)?$`),
    attempt: jetstream((c) => c.jsm.consumers.update(n.eventStream, n.recorderConsumer, { max_ack_pending: 1 })) },
  { role: Role.Caller, op: 'serve calls in the router\'s queue group', why: 'it would take other callers\' requests', refused: 'subscription',
    subject: s.call('echo'), attempt: subscribe(s.call('echo'), 'router') },
  { role: Role.Caller, op: 'serve submits', why: 'submits are accepted by the router only', refused: 'subscription',
    subject: s.submitAll(), attempt: subscribe(s.submitAll()) },
  { role: Role.Caller, op: 'serve the orchestrator\'s API', why: 'it could answer get/list with forged records', refused: 'subscription',
    subject: s.invocationsAll(), attempt: subscribe(s.invocationsAll()) },
  { role: Role.Caller, op: 'serve the scheduler\'s API', why: 'it could accept dispatches and drop them', refused: 'subscription',
    subject: s.dispatchesAll(), attempt: subscribe(s.dispatchesAll()) },
  { role: Role.Caller, op: 'take a worker\'s direct requests', why: 'it would answer as that worker', refused: 'subscription',
    subject: s.workerTopic('w1'), attempt: subscribe(s.workerTopic('w1')) },
  { role: Role.Caller, op: 'read the workers\' inbox', why: 'each app\'s replies are its own', refused: 'subscription',
    subject: `${inboxPrefix(Role.Worker)}.>`, attempt: subscribe(`${inboxPrefix(Role.Worker)}.>`) },
  { role: Role.Caller, op: 'ask the server about its connections', why: 'server monitoring ($SYS) is for operators', refused: 'publish',
    subject: '$SYS.REQ.SERVER.PING.CONNZ', attempt: request('$SYS.REQ.SERVER.PING.CONNZ') },
  { role: Role.Caller, op: 'redrive a dead letter', why: 'putting failed work back is an operator\'s action (admin, dashboard)', refused: 'publish',
    subject: s.deadLettersRedrive(), attempt: request(s.deadLettersRedrive(), { all: true }) },
  { role: Role.Caller, op: 'read the invocation event stream\'s subjects live', why: 'callers follow one invocation through the stream, not everyone\'s events', refused: 'subscription',
    subject: s.invocationEventsAll(), attempt: subscribe(s.invocationEventsAll()) },

  // dashboard (read-mostly: views, cancel, pause/resume/delete dispatches, redrive)
  { role: Role.Dashboard, op: 'call a task', why: 'the dashboard watches the mesh; it starts no work', refused: 'publish',
    subject: s.call('echo'), attempt: request(s.call('echo'), { args: {} }) },
  { role: Role.Dashboard, op: 'create a dispatch', why: 'schedules are made by callers; the dashboard only pauses, resumes and deletes them', refused: 'publish',
    subject: s.dispatches('create'), attempt: request(s.dispatches('create'), { task: 'echo', start: '2030-01-01T00:00:00Z' }) },
  { role: Role.Dashboard, op: 'pull from the orchestrator\'s recorder consumer', why: 'it would take events the recorder must write', refused: 'publish',
    subject: `${API}.CONSUMER.MSG.NEXT.${RECORDER}`, attempt: request(`${API}.CONSUMER.MSG.NEXT.${RECORDER}`, PULL) },
  { role: Role.Dashboard, op: 'write an invocation record', why: 'records are written by the router and the orchestrator only', refused: 'publish',
    subject: `$KV.${n.invocationsBucket}.victim-3`, attempt: jetstream(async (c) => (await c.kv(n.invocationsBucket)).put('victim-3', '{}')) },
  { role: Role.Dashboard, op: 'serve the orchestrator\'s API', why: 'it could answer get/list with forged records', refused: 'subscription',
    subject: s.invocationsAll(), attempt: subscribe(s.invocationsAll()) },
  { role: Role.Dashboard, op: 'read the callers\' inbox', why: 'callers\' replies are theirs', refused: 'subscription',
    subject: `${inboxPrefix(Role.Caller)}.>`, attempt: subscribe(`${inboxPrefix(Role.Caller)}.>`) },

  // scheduler
  { role: Role.Scheduler, op: 'purge the invocations bucket', why: 'it would wipe every record, finished or not', refused: 'publish',
    subject: `${API}.STREAM.PURGE.${n.invocationsBucketStream}`, attempt: jetstream((c) => c.jsm.streams.purge(n.invocationsBucketStream)) },
  { role: Role.Scheduler, op: 'delete an invocation record', why: 'the janitor (orchestrator) decides when a record goes', refused: 'publish',
    subject: `$KV.${n.invocationsBucket}.victim-1`, attempt: jetstream(async (c) => (await c.kv(n.invocationsBucket)).delete('victim-1')) },
  { role: Role.Scheduler, op: 'cancel an invocation', why: 'the scheduler submits occurrences and reads their outcome, nothing more', refused: 'publish',
    subject: s.invocations('cancel'), attempt: request(s.invocations('cancel'), { id: 'victim-1' }) },
  { role: Role.Scheduler, op: 'list invocations', why: 'it reads the occurrences it submitted by id (mesh.invocations.get)', refused: 'publish',
    subject: s.invocations('list'), attempt: request(s.invocations('list')) },
  { role: Role.Scheduler, op: 'call a task synchronously', why: 'it submits durably (mesh.submit.*), never waits on a call', refused: 'publish',
    subject: s.call('echo'), attempt: request(s.call('echo')) },
  { role: Role.Scheduler, op: 'queue work behind the router', why: 'the router admits work', refused: 'publish',
    subject: s.work('echo'), attempt: publish(s.work('echo'), REQUEST) },
  { role: Role.Scheduler, op: 'write a claim', why: 'claims are the router\'s and workers\'', refused: 'publish',
    subject: `$KV.${n.claimsBucket}.forged`, attempt: jetstream(async (c) => (await c.kv(n.claimsBucket)).put('forged', '{}')) },
  { role: Role.Scheduler, op: 'serve calls', why: 'calls are the router\'s', refused: 'subscription',
    subject: s.callAll(), attempt: subscribe(s.callAll()) },
  { role: Role.Scheduler, op: 'read the orchestrator\'s inbox', why: 'each app\'s replies are its own', refused: 'subscription',
    subject: `${inboxPrefix(Role.Orchestrator)}.>`, attempt: subscribe(`${inboxPrefix(Role.Orchestrator)}.>`) },

  // orchestrator
  { role: Role.Orchestrator, op: 'delete the event stream', why: 'only admin deletes streams', refused: 'publish',
    subject: `${API}.STREAM.DELETE.${n.eventStream}`, attempt: jetstream((c) => c.jsm.streams.delete(n.eventStream)) },
  { role: Role.Orchestrator, op: 'purge the invocations bucket', why: 'the janitor deletes old records one by one, never live ones', refused: 'publish',
    subject: `${API}.STREAM.PURGE.${n.invocationsBucketStream}`, attempt: jetstream((c) => c.jsm.streams.purge(n.invocationsBucketStream)) },
  // (It does queue work: a redriven dead letter's, docs/PROTOCOL.md section 4.12.)
  { role: Role.Orchestrator, op: 'answer into the router\'s inbox', why: 'the router asks the orchestrator nothing: a reply there is forged', refused: 'publish',
    subject: `${inboxPrefix(Role.Router)}.forged.1`, attempt: publish(`${inboxPrefix(Role.Router)}.forged.1`) },
  { role: Role.Orchestrator, op: 'forge a NOTIFY', why: 'only workers beat', refused: 'publish',
    subject: s.notify(), attempt: publish(s.notify(), NOTIFY) },
  { role: Role.Orchestrator, op: 'submit a task', why: 'the orchestrator records and cancels, it never starts work', refused: 'publish',
    subject: s.submit('echo'), attempt: request(s.submit('echo')) },
  { role: Role.Orchestrator, op: 'write a dispatch', why: 'dispatches are the scheduler\'s', refused: 'publish',
    subject: `$KV.${n.dispatchesBucket}.forged`, attempt: jetstream(async (c) => (await c.kv(n.dispatchesBucket)).put('forged', '{}')) },
  { role: Role.Orchestrator, op: 'take the scheduler\'s lease', why: 'it would stop every scheduler from firing', refused: 'publish',
    subject: `$KV.${n.leasesBucket}.scheduler`, attempt: jetstream(async (c) => (await c.kv(n.leasesBucket)).put('scheduler', '{}')) },
  { role: Role.Orchestrator, op: 'take a worker\'s direct requests', why: 'it would answer as that worker', refused: 'subscription',
    subject: s.workerTopic('w1'), attempt: subscribe(s.workerTopic('w1')) },
  { role: Role.Orchestrator, op: 'read the scheduler\'s inbox', why: 'each app\'s replies are its own', refused: 'subscription',
    subject: `${inboxPrefix(Role.Scheduler)}.>`, attempt: subscribe(`${inboxPrefix(Role.Scheduler)}.>`) },

  // router
  { role: Role.Router, op: 'delete the dead-letter stream', why: 'only admin deletes streams', refused: 'publish',
    subject: `${API}.STREAM.DELETE.${n.deadLetterStream}`, attempt: jetstream((c) => c.jsm.streams.delete(n.deadLetterStream)) },
  { role: Role.Router, op: 'delete a message of the work stream', why: 'the router queues work; only the orchestrator removes exhausted work', refused: 'publish',
    subject: `${API}.STREAM.MSG.DELETE.${n.workStream}`, attempt: jetstream((c) => c.jsm.streams.deleteMessage(n.workStream, 1)) },
  { role: Role.Router, op: 'write a cancellation into the bucket', why: 'cancellations are the orchestrator\'s', refused: 'publish',
    subject: `$KV.${n.cancelledBucket}.victim-1`, attempt: jetstream(async (c) => (await c.kv(n.cancelledBucket)).put('victim-1', '{}')) },
  { role: Role.Router, op: 'read the dispatches bucket', why: 'dispatches are the scheduler\'s', refused: 'publish',
    subject: `${API}.STREAM.MSG.GET.${n.dispatchesBucketStream}`, attempt: jetstream(async (c) => (await c.kv(n.dispatchesBucket)).get('any')) },
  { role: Role.Router, op: 'forge a NOTIFY', why: 'only workers beat', refused: 'publish',
    subject: s.notify(), attempt: publish(s.notify(), NOTIFY) },
  { role: Role.Router, op: 'forge an invocation event', why: 'events come from workers and the orchestrator', refused: 'publish',
    subject: s.invocationEvent('victim-1'), attempt: publish(s.invocationEvent('victim-1'), RESPONSE) },
  { role: Role.Router, op: 'serve the orchestrator\'s API', why: 'invocations are answered by the orchestrator', refused: 'subscription',
    subject: s.invocationsAll(), attempt: subscribe(s.invocationsAll()) },
  { role: Role.Router, op: 'read the workers\' inbox', why: 'each app\'s replies are its own', refused: 'subscription',
    subject: `${inboxPrefix(Role.Worker)}.>`, attempt: subscribe(`${inboxPrefix(Role.Worker)}.>`) },
  { role: Role.Router, op: 'take a worker\'s direct requests', why: 'the router places direct calls, a worker answers them', refused: 'subscription',
    subject: s.workerTopic('w1'), attempt: subscribe(s.workerTopic('w1')) },
];

/** Something a role needs: it must go through under the role's user. */
interface Allowed {
  role: Role;
  op: string;
  attempt(c: RoleConnection): Promise<unknown>;
}

/** A reply arrives (an error reply of the mesh is still an answer: the request got through). */
const answered = (subject: string, body: unknown = {}) => async (c: RoleConnection): Promise<unknown> =>
  c.nc.request(subject, JSON.stringify(body), { timeout: A_WHILE_MS });
/** The subscription is still open once the server has seen it. */
const subscribed = (subject: string) => async (c: RoleConnection): Promise<void> => {
  const sub = c.nc.subscribe(subject);
  await c.nc.flush();
  await c.nc.flush();
  const open = !sub.isClosed();
  sub.unsubscribe();
  if (!open) throw new Error(`subscription to ${subject} was closed`);
};
/** Every key of a bucket, read through a consumer of the role's own (a KV walk). */
const walk = (bucket: string) => async (c: RoleConnection): Promise<string[]> => {
  const keys: string[] = [];
  for await (const k of await (await c.kv(bucket)).keys()) keys.push(k);
  return keys;
};

const ALLOWED: Allowed[] = [
  { role: Role.Router, op: 'read the work stream', attempt: (c) => c.jsm.streams.info(n.workStream) },
  { role: Role.Router, op: 'read an invocation record', attempt: async (c) => (await c.kv(n.invocationsBucket)).get('none') },
  { role: Role.Router, op: 'read a claim', attempt: async (c) => (await c.kv(n.claimsBucket)).get('none') },
  { role: Role.Router, op: 'walk the tasks bucket', attempt: walk(n.tasksBucket) },
  { role: Role.Router, op: 'read its own inbox', attempt: subscribed(`${inboxPrefix(Role.Router)}.probe`) },
  { role: Role.Orchestrator, op: 'read its recorder consumer', attempt: (c) => c.jsm.consumers.info(n.eventStream, n.recorderConsumer) },
  { role: Role.Orchestrator, op: 'read the dead-letter stream', attempt: (c) => c.jsm.streams.info(n.deadLetterStream) },
  { role: Role.Orchestrator, op: 'read an invocation record', attempt: async (c) => (await c.kv(n.invocationsBucket)).get('none') },
  { role: Role.Orchestrator, op: 'walk the claims bucket', attempt: walk(n.claimsBucket) },
  { role: Role.Scheduler, op: 'read a dispatch', attempt: async (c) => (await c.kv(n.dispatchesBucket)).get('none') },
  { role: Role.Scheduler, op: 'read a lease', attempt: async (c) => (await c.kv(n.leasesBucket)).get('none') },
  { role: Role.Scheduler, op: 'walk the dispatches bucket', attempt: walk(n.dispatchesBucket) },
  { role: Role.Scheduler, op: 'read an occurrence\'s record', attempt: answered(s.invocations('get'), { id: 'none' }) },
  { role: Role.Worker, op: 'read its task consumer', attempt: (c) => c.jsm.consumers.info(n.workStream, n.taskConsumer('echo')) },
  { role: Role.Worker, op: 'ask every worker to NOTIFY', attempt: async (c) => {
    c.nc.publish(s.notifyRequest());
    await c.nc.flush();
  } },
  { role: Role.Worker, op: 'read a claim', attempt: async (c) => (await c.kv(n.claimsBucket)).get('none') },
  { role: Role.Worker, op: 'walk the cancellations bucket', attempt: walk(n.cancelledBucket) },
  { role: Role.Worker, op: 'take its direct requests', attempt: subscribed(s.workerTopic('w-probe')) },
  { role: Role.Caller, op: 'list workers', attempt: answered(s.workersList()) },
  { role: Role.Caller, op: 'list dispatches through the scheduler', attempt: answered(s.dispatches('list')) },
  { role: Role.Caller, op: 'list invocations through the orchestrator', attempt: answered(s.invocations('list')) },
  { role: Role.Caller, op: 'list dead letters', attempt: answered(s.deadLettersList()) },
  { role: Role.Caller, op: 'read the event stream', attempt: (c) => c.jsm.streams.info(n.eventStream) },
  { role: Role.Caller, op: 'walk the tasks bucket', attempt: walk(n.tasksBucket) },
  { role: Role.Caller, op: 'hear NOTIFY', attempt: subscribed(s.notify()) },
  { role: Role.Dashboard, op: 'list workers', attempt: answered(s.workersList()) },
  { role: Role.Dashboard, op: 'read the next occurrences', attempt: answered(s.dispatches('upcoming')) },
  { role: Role.Dashboard, op: 'list dead letters', attempt: answered(s.deadLettersList()) },
  { role: Role.Dashboard, op: 'read every app\'s statistics', attempt: answered('$SRV.STATS') },
  { role: Role.Dashboard, op: 'hear every invocation\'s events', attempt: subscribed(s.invocationEventsAll()) },
  { role: Role.Dashboard, op: 'read the event stream', attempt: (c) => c.jsm.streams.info(n.eventStream) },
  { role: Role.Admin, op: 'read the dispatches bucket', attempt: walk(n.dispatchesBucket) },
  { role: Role.Admin, op: 'create and delete a stream', attempt: async (c) => {
    await c.jsm.streams.add({ name: 'SCRATCH', subjects: ['scratch.>'] });
    await c.jsm.streams.delete('SCRATCH');
  } },
];

/** The PermissionViolationError in `err` or its causes. */
function permissionError(err: unknown): PermissionViolationError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) if (e instanceof PermissionViolationError) return e;
  return undefined;
}

/** How nats-server 2.9 logs a refused publish or subscription of `user` to `subject`. */
function violationLine(refused: Refused, user: string, subject: string): string {
  return `${refused === 'publish' ? 'Publish' : 'Subscription'} Violation - User "${user}", Subject "${subject}"`;
}

describe('permission matrix', () => {
  const group = new ProcessGroup();
  let server: NatsServer;
  let auth: MeshAuth;
  let apps: AppProcess[];
  let client: MeshClient;
  const conns = new Map<Role, RoleConnection>();
  const login = (role: Role): { user: string; pass: string } => {
    const c = auth.credentials.find((x) => x.role === role)!;
    return { user: c.user, pass: c.password };
  };
  const appEnv = (role: Role): Record<string, string> => {
    const { user, pass } = login(role);
    return { NATS_URL: server.url, NATS_USER: user, NATS_PASSWORD: pass, MESH_HTTP_PORT: '0', LOG_LEVEL: 'info', MESH_NOTIFY_PERIOD_MS: '500' };
  };
  const serverLog = (): string => readFileSync(server.logFile, 'utf8');
  /** How many logins of `user` the server refused (`""` for none given). */
  const refusedLogins = (user: string): number => serverLog().split(`authentication error - User ${JSON.stringify(user)}`).length - 1;
  /** Refused publishes and subscriptions in the server log, whoever made them. */
  const violationCount = (): number => serverLog().split('\n').filter((l) => / Violation - User /.test(l)).length;
  /** Lines where an app reports a refusal it met (apps log the server's errors as `NATS server error`). */
  const appViolations = (): string[] => apps.flatMap((a) => a.lines().filter((l) => /Permissions? Violation|NATS server error/i.test(l)).map((l) => `${a.name}: ${l}`));
  const connectAs = async (role: Role): Promise<RoleConnection> => {
    const nc = await connect({ servers: server.url, ...login(role), inboxPrefix: inboxPrefix(role), name: `matrix-${role}` });
    const refusals: PermissionViolationError[] = [];
    void (async () => {
      for await (const st of nc.status()) if (st.type === 'error' && st.error instanceof PermissionViolationError) refusals.push(st.error);
    })();
    const jsm = await jetstreamManager(nc);
    return { role, nc, jsm, kv: (bucket) => new Kvm(nc).open(bucket), refusals };
  };

  beforeAll(async () => {
    auth = generateMeshAuth('mesh', { cost: 4 });
    server = group.add(await startNatsServer({ config: auth.config }));
    const started = (p: AppProcess, app: string): Promise<string> => p.waitForLine(new RegExp(`"${app} started"`), 30_000);
    const router = group.add(spawnApp('router', appEnv(Role.Router), { name: 'router' }));
    await started(router, 'router');
    const rest = [
      group.add(spawnApp('orchestrator', appEnv(Role.Orchestrator), { name: 'orchestrator' })),
      group.add(spawnApp('scheduler', { ...appEnv(Role.Scheduler), MESH_SCHEDULER_ID: 's1' }, { name: 'scheduler' })),
      group.add(spawnApp('worker', { ...appEnv(Role.Worker), MESH_WORKER_ID: 'w1' }, { name: 'w1' })),
    ];
    await Promise.all(rest.map((p) => started(p, p.name === 'w1' ? 'worker' : p.name)));
    apps = [router, ...rest];
    client = await MeshClient.connect({ servers: server.url, user: login(Role.Caller).user, password: login(Role.Caller).pass, name: 'caller' });
    await waitFor(async () => (await client.workers()).length === 1, { timeoutMs: 15_000, what: 'the worker to be live' });
    for (const role of [Role.Router, Role.Orchestrator, Role.Scheduler, Role.Worker, Role.Dashboard, Role.Caller, Role.Admin]) conns.set(role, await connectAs(role));
  });

  afterAll(async () => {
    for (const c of conns.values()) await c.nc.close().catch(() => undefined);
    await client?.close().catch(() => undefined);
    await group.stopAll();
  });

  const conn = (role: Role): RoleConnection => conns.get(role)!;

  it('runs every flow of the mesh with each app as its own user, and each role does directly what it needs', async () => {
    const before = violationCount();
    // The apps at work: a durable and a direct call, a submit followed to its record, a cancel, a dispatch that fires.
    expect(await client.call('echo', { a: 1 })).toEqual({ a: 1 });
    expect(await client.call('echo', { a: 2 }, { delivery: 'direct' })).toEqual({ a: 2 });
    const id = await client.submit('sleep', { ms: 100 });
    const states: string[] = [];
    for await (const e of client.events(id)) states.push(e.state);
    expect(states.at(-1)).toBe('SUCCESS');
    await waitFor(async () => (await client.get(id)).state === 'SUCCESS', { timeoutMs: 10_000, what: 'the record to say SUCCESS' });
    const long = await client.submit('sleep', { ms: 10_000 });
    await waitFor(async () => (await client.get(long)).state === 'RUNNING', { timeoutMs: 10_000, what: 'the long sleep to run' });
    await client.cancel(long);
    await waitFor(async () => (await client.get(long)).state === 'FAILURE', { timeoutMs: 10_000, what: 'the cancelled sleep to be recorded' });
    const dispatch = await client.dispatches.create({ task: 'echo', args: { d: 1 }, start: new Date(Date.now() + 300).toISOString() });
    expect((await client.dispatches.list()).map((d) => d.id)).toContain(dispatch.id);
    const occurrence = `dispatch:${dispatch.id}:${Date.parse(dispatch.start)}`;
    await waitFor(async () => (await client.get(occurrence).catch(() => undefined))?.state === 'SUCCESS', { timeoutMs: 15_000, what: 'the dispatch to fire' });
    await client.dispatches.delete(dispatch.id);

    // Each role's own connection, doing directly what its part of the mesh does.
    for (const a of ALLOWED) {
      const outcome = await a.attempt(conn(a.role)).then(() => 'done', (err: unknown) => `failed: ${String(err)}`);
      expect([a.role, a.op, outcome]).toEqual([a.role, a.op, 'done']);
    }
    for (const c of conns.values()) expect([c.role, c.refusals.map((e) => e.message)]).toEqual([c.role, []]);
    expect(violationCount()).toBe(before);
    expect(appViolations()).toEqual([]);
  });

  it('has at least 40 forbidden operations, for every app role and the caller, each listed once', () => {
    expect(FORBIDDEN.length).toBeGreaterThanOrEqual(40);
    expect(new Set(FORBIDDEN.map((f) => f.role))).toEqual(new Set([Role.Router, Role.Orchestrator, Role.Scheduler, Role.Worker, Role.Dashboard, Role.Caller]));
    const keys = FORBIDDEN.map((f) => `${f.role} ${f.refused} ${String(f.subject)}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  it.each(FORBIDDEN.map((f) => [`${f.role} may not ${f.op}: ${f.why}`, f] as const))('%s', async (_, f) => {
    const c = conn(f.role);
    if (typeof f.subject === 'string') expect(serverLog()).not.toContain(violationLine(f.refused, f.role, f.subject));
    const seen = await f.attempt(c);
    const refusal = permissionError(seen);
    expect({ refusal: refusal?.name, operation: refusal?.operation }).toEqual({ refusal: 'PermissionViolationError', operation: f.refused });
    const subject = refusal!.subject;
    if (typeof f.subject === 'string') expect(subject).toBe(f.subject);
    else expect(subject).toMatch(f.subject);
    const line = violationLine(f.refused, f.role, subject);
    await waitFor(() => serverLog().includes(line), { timeoutMs: A_WHILE_MS, what: `the server to log: ${line}` });
  });

  it('leaves the mesh whole: no stream deleted or purged, no consumer deleted or redefined, and calls still recorded', async () => {
    const admin = conn(Role.Admin).jsm;
    for (const stream of [n.workStream, n.eventStream, n.deadLetterStream, n.invocationsBucketStream, n.dispatchesBucketStream, n.cancelledBucketStream]) {
      await expect(admin.streams.info(stream)).resolves.toBeDefined();
    }
    expect((await admin.consumers.info(n.eventStream, n.recorderConsumer)).config.max_ack_pending).not.toBe(1);
    await expect(admin.consumers.info(n.workStream, n.taskConsumer('echo'))).resolves.toBeDefined();
    expect(await client.call('echo', { after: true })).toEqual({ after: true });
    const id = await client.submit('echo', { recorded: true });
    await waitFor(async () => (await client.get(id).catch(() => undefined))?.state === 'SUCCESS', { timeoutMs: 10_000, what: 'the recorder to record a new invocation' });
  });

  it('gives a caller no way to the recorder through the consumer creates it may use', async () => {
    const c = conn(Role.Caller);
    const takeOver = { ack_policy: 'explicit', durable_name: n.recorderConsumer, name: n.recorderConsumer, max_ack_pending: 1 };
    // The unnamed (legacy ephemeral) create, and a named create whose body names the recorder.
    for (const subject of [`${API}.CONSUMER.CREATE.${n.eventStream}`, `${API}.CONSUMER.CREATE.${n.eventStream}.other`]) {
      const reply = (await c.nc.request(subject, JSON.stringify({ stream_name: n.eventStream, config: takeOver }), { timeout: A_WHILE_MS })).json<{ error?: { description: string } }>();
      expect([subject, reply.error?.description]).toEqual([subject, expect.any(String)]);
    }
    expect((await conn(Role.Admin).jsm.consumers.info(n.eventStream, n.recorderConsumer)).config.max_ack_pending).not.toBe(1);
  });

  it.each([
    ['the router\'s reply subject (a durable call)', 'durable', 'router-'],
    ['a smart client\'s reply subject (a direct call)', 'direct', 'client-'],
  ] as const)('lets no caller settle another caller\'s call by replaying its own events to %s', async (_, delivery, placer) => {
    // A caller may create consumers on the event stream (to follow an invocation), and nats-server 2.9 does not judge
    // a push consumer's deliver subject: its own events can be delivered to another's reply subscription, under their
    // original subject. A receiver that read the invocation id from any subject would take them for a reply.
    const attacker = conn(Role.Caller).nc;
    const replies: string[] = [];
    const spy = attacker.subscribe('mesh.reply.>', { callback: (_err, msg) => void replies.push(msg.subject) });
    await client.call('echo', { probe: true }, { delivery });
    const replyPrefix = await waitFor(() => replies.find((r) => r.startsWith(`mesh.reply.${placer}`))?.split('.').slice(0, 3).join('.'), { timeoutMs: A_WHILE_MS, what: `a reply subject of a ${placer}` });
    spy.unsubscribe();

    const victimId = `victim-${delivery}`;
    const victim = client.call('sleep', { ms: 1500 }, { id: victimId, delivery });
    // An id whose event subject, cut where the reply prefix ends, reads as the victim's id; its outcome is forged.
    const pad = `${replyPrefix}.`.length - `${s.invocationEvent('x')}`.length + 1;
    expect(pad).toBeGreaterThan(0);
    const forgedId = `${'f'.repeat(pad)}${victimId}`;
    expect(s.invocationEvent(forgedId).slice(`${replyPrefix}.`.length)).toBe(victimId);
    expect(await client.call('echo', { forged: true }, { id: forgedId })).toEqual({ forged: true });
    // A subscription on exactly the deliver subject binds the push consumer; the victim's wildcard one then hears it too.
    const binder = attacker.subscribe(`${replyPrefix}.bind`);
    const delivered = new Promise<string>((resolve) => void (async () => {
      for await (const m of binder) resolve(m.subject);
    })());
    const created = (await attacker.request(`${API}.CONSUMER.CREATE.${n.eventStream}.replay_${delivery}`, JSON.stringify({
      stream_name: n.eventStream,
      config: { name: `replay_${delivery}`, deliver_subject: `${replyPrefix}.bind`, filter_subject: s.invocationEvent(forgedId), deliver_policy: 'last', ack_policy: 'none' },
    }), { timeout: A_WHILE_MS })).json<{ config?: { deliver_subject: string } }>();
    expect(created.config?.deliver_subject).toBe(`${replyPrefix}.bind`);
    // The replay did arrive (the attacker's own subscription heard it) ...
    expect(await delivered).toBe(s.invocationEvent(forgedId));
    binder.unsubscribe();
    // ... and the victim still gets its own outcome.
    expect(await victim).toMatchObject({ invocationId: victimId });
  });

  it('refuses logins without valid credentials: anonymous, a wrong password, an unknown user, another role\'s password', async () => {
    const attempt = (opts: { user?: string; pass?: string; token?: string }): Promise<unknown> =>
      connect({ servers: server.url, reconnect: false, ...opts }).then(async (nc) => nc.close().then(() => 'admitted'), (err: unknown) => err);
    const tries: Record<string, { user?: string; pass?: string; token?: string }> = {
      anonymous: {},
      'a token': { token: login(Role.Admin).pass },
      'a wrong password': { user: 'caller', pass: 'wrong' },
      'an unknown user': { user: 'nobody', pass: login(Role.Caller).pass },
      'the admin user with the caller\'s password': { user: 'admin', pass: login(Role.Caller).pass },
    };
    for (const [what, opts] of Object.entries(tries)) {
      const logged = refusedLogins(opts.user ?? '');
      const seen = await attempt(opts);
      expect([what, seen instanceof AuthorizationError]).toEqual([what, true]);
      await waitFor(() => refusedLogins(opts.user ?? '') === logged + 1, { timeoutMs: A_WHILE_MS, what: `the server to log the refused login (${what})` });
    }
  });

  it('disconnects a withdrawn user (removed from the configuration, server reloaded) and refuses it from then on', async () => {
    // nats-server's config users have no expiry (that needs JWT accounts): withdrawing the user is how an operator
    // ends its access, and it must take effect on live connections too, not only on new ones.
    const admin = await connect({ servers: server.url, ...login(Role.Admin), name: 'withdrawn', reconnectTimeWait: 100 });
    const closed = admin.closed();
    const { users } = JSON.parse(auth.config.slice('authorization '.length)) as { users: Array<{ user: string }> };
    const withdrawn = `authorization ${JSON.stringify({ users: users.filter((u) => u.user !== 'admin') }, null, 2)}\n`;
    writeFileSync(server.configFile, readFileSync(server.configFile, 'utf8').replace(auth.config, withdrawn));
    server.kill('SIGHUP');
    await waitFor(() => serverLog().includes('Reloaded server configuration'), { timeoutMs: A_WHILE_MS, what: 'the server to reload its configuration' });
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(() => resolve('still connected'), 15_000)))]);
    clearTimeout(timer);
    expect(ended).toBeInstanceOf(AuthorizationError);
    // Its own reconnect attempts (the connection's name) were refused.
    expect(serverLog()).toMatch(/:withdrawn" - authentication error - User "admin"/);
    await expect(connect({ servers: server.url, ...login(Role.Admin), reconnect: false })).rejects.toBeInstanceOf(AuthorizationError);
    // Everyone else stays connected and the mesh goes on.
    expect(await client.call('echo', { afterReload: true })).toEqual({ afterReload: true });
  });
});

// A credential that expires: nats-server's config users have none, but a client certificate mapped to a user
// (`verify_and_map`) carries a validity period the server enforces at every connect. The certificates are made here
// with openssl, one valid now and one that expired in 2020, for the same user.
describe('a user whose certificate has expired', () => {
  const group = new ProcessGroup();
  let dir: string;
  let server: NatsServer;
  const tlsOf = (cert: string): { caFile: string; certFile: string; keyFile: string } => ({
    caFile: join(dir, 'ca.pem'), certFile: join(dir, cert), keyFile: join(dir, 'client.key'),
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'taskmesh-expiry-'));
    const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=taskmesh test CA', '-days', '1');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName = IP:127.0.0.1,DNS:localhost\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=caller');
    openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'valid.pem', '-days', '1');
    // `openssl ca` is the tool that sets a validity period in the past.
    writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\nnew_certs_dir = .\ncertificate = ca.pem\n'
      + 'private_key = ca.key\nserial = ca.srl\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n');
    writeFileSync(join(dir, 'index.txt'), '');
    openssl('ca', '-batch', '-config', 'ca.cnf', '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-in', 'client.csr', '-out', 'expired.pem', '-notext');
    const tls = { cert_file: join(dir, 'server.pem'), key_file: join(dir, 'server.key'), ca_file: join(dir, 'ca.pem'), verify_and_map: true };
    const users = [{ user: 'CN=caller', permissions: rolePermissions(Role.Caller, 'mesh') }];
    server = group.add(await startNatsServer({ config: `tls ${JSON.stringify(tls)}\nauthorization ${JSON.stringify({ users })}\n` }));
  });

  afterAll(async () => {
    await group.stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('connects with the valid certificate, as a caller, and is refused with the expired one', async () => {
    const nc = await connect({ servers: server.url, tls: tlsOf('valid.pem') });
    try {
      const refused = new Promise<unknown>((resolve) => {
        void (async () => {
          for await (const st of nc.status()) if (st.type === 'error') resolve(st.error);
        })();
      });
      nc.publish(s.notify(), '{}');
      await nc.flush();
      expect(await refused).toMatchObject({ name: 'PermissionViolationError', subject: s.notify() });
    } finally {
      await nc.close();
    }
    const seen = await connect({ servers: server.url, tls: tlsOf('expired.pem'), reconnect: false }).then(async (c) => c.close().then(() => 'admitted'), (err: unknown) => err);
    // Refused, never admitted: the client hears the server's bad_certificate alert (TLS alert 42) or, as TLS 1.3
    // checks the client's certificate after the client's side of the handshake, the socket closing; the server says why.
    expect([String(seen), types.isNativeError(seen)]).toEqual([expect.not.stringMatching(/^admitted$/), true]);
    await waitFor(() => readFileSync(server.logFile, 'utf8').includes('failed to verify client certificate: x509: certificate has expired'), { timeoutMs: A_WHILE_MS, what: 'the server to log the expired certificate' });
  });
});
