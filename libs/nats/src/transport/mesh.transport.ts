import type { INestApplicationContext } from '@nestjs/common';
import { CustomTransportStrategy, Server, type MessageHandler } from '@nestjs/microservices';
import { isObservable } from 'rxjs';
import { headers as natsHeaders, nuid, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { FailureCode, failureOf, MeshHeader, ResponseMessage, serviceErrorHeaders, TASKMESH_VERSION, type Subjects } from '@taskmesh/protocol';
import { MESH_BUS, type MeshBus } from '../mesh-bus.js';
import { EndpointStatsBook } from '../micro/service-discovery.js';
import { serveDiscovery, type DiscoveryResponders } from '../micro/serve-discovery.js';
import { MeshContext } from './mesh.context.js';

/** What a handler may return: a body (JSON-encoded unless already bytes) and optional headers. */
export interface MeshReply {
  body: unknown;
  headers?: Record<string, string>;
}

/** Extras of `@MessagePattern(pattern, extras)` this transport understands. */
export interface MeshPatternExtras {
  /** Queue group: replicas share the subject. `false` = every replica gets every message (e.g. NOTIFY). */
  queue?: string | false;
}

/** Wraps a handler result as a reply with headers (a plain value is sent as the JSON body, without headers). */
export const meshReply = (body: unknown, headers?: Record<string, string>): MeshReply => ({ body, headers });

const isMeshReply = (v: unknown): v is MeshReply => typeof v === 'object' && v !== null && 'body' in v && Object.keys(v).every((k) => k === 'body' || k === 'headers');

/** A pattern is the name of a no-argument Subjects builder (`'callAll'` -> `mesh.call.*`), so subjects stay built in one place. */
export type MeshPattern = { [K in keyof Subjects]: Subjects[K] extends () => string ? K : never }[keyof Subjects];

/** How the app introduces itself to NATS micro discovery (`$SRV.PING|INFO|STATS`). */
export interface MeshServiceInfo {
  /** The kind of service, shared by replicas (e.g. `taskmesh-router`). */
  name: string;
  description: string;
  /** This instance (default: a fresh NUID). */
  id?: string;
}

/**
 * A Nest transport strategy for the mesh: `@MessagePattern('callAll')` subscribes `subjects.callAll()` in the
 * configured queue group and hands the handler the RAW message bytes (any client, any language: the handler
 * parses and validates them) and a MeshContext. The handler's return value is the reply; a handler that throws
 * gets an INTERNAL RESPONSE with the error headers, so no input can leave a caller without an answer.
 *
 * With a MeshServiceInfo it also answers NATS micro discovery (`$SRV.PING|INFO|STATS`, libs/nats/src/micro): one
 * endpoint per pattern, with its subject, queue group and request / error / processing-time counters (an error is a
 * handler that threw or a reply that carries `Nats-Service-Error`).
 */
export class MeshTransport extends Server implements CustomTransportStrategy {
  private nc?: NatsConnection;
  private readonly subs: Subscription[] = [];
  private readonly encoder = new TextEncoder();
  private readonly stats = new EndpointStatsBook();
  private discovery?: DiscoveryResponders;

  constructor(
    private readonly subjects: Subjects,
    private readonly queue: string,
    private readonly service?: MeshServiceInfo,
  ) {
    super();
  }

  /** Takes the app's connection (created by NatsModule inside the app) before `listen`. */
  attachTo(app: INestApplicationContext): void {
    this.nc = app.get<MeshBus>(MESH_BUS).nc;
  }

  listen(callback: (err?: unknown) => void): void {
    const nc = this.nc;
    if (!nc) {
      callback(new Error('MeshTransport.listen before attach(nc)'));
      return;
    }
    for (const [pattern, handler] of this.messageHandlers) {
      const extras = (handler.extras ?? {}) as MeshPatternExtras;
      const queue = extras.queue === false ? undefined : (extras.queue ?? this.queue);
      const build = (this.subjects as unknown as Record<string, unknown>)[pattern];
      if (typeof build !== 'function' || build.length !== 0) {
        callback(new Error(`@MessagePattern(${JSON.stringify(pattern)}) is not a no-argument Subjects builder`));
        return;
      }
      const subject = (build as () => string).call(this.subjects);
      this.stats.add({ name: pattern, subject, queue_group: queue ?? '' });
      this.subs.push(nc.subscribe(subject, { queue, callback: (_err, msg) => void this.handle(pattern, handler, msg) }));
    }
    if (this.service) {
      const { name, description, id = nuid.next() } = this.service;
      this.discovery = serveDiscovery(nc, { name, id, description, version: TASKMESH_VERSION, metadata: { prefix: this.subjects.prefix } }, this.stats);
    }
    callback();
  }

  async close(): Promise<void> {
    this.discovery?.stop();
    for (const sub of this.subs.splice(0)) sub.unsubscribe();
  }

  on(): never {
    throw new Error('MeshTransport does not emit transport events; watch NatsConnection.status() instead');
  }

  unwrap<T>(): T {
    return this.nc as T;
  }

  private async handle(endpoint: string, handler: MessageHandler, msg: Msg): Promise<void> {
    const started = process.hrtime.bigint();
    let reply: MeshReply;
    try {
      // A handler's value (what Nest's proxy resolves) is used as it is; only an Observable goes through rxjs
      // (its first value is the reply), which spares the call path an Observable per message.
      const out: unknown = await handler(msg.data, new MeshContext(msg));
      const result = isObservable(out)
        ? await new Promise<unknown>((resolve, reject) => {
          out.subscribe({ next: resolve, error: reject, complete: () => resolve(undefined) });
        })
        : out;
      if (handler.isEventHandler || !msg.reply) {
        this.stats.record(endpoint, Number(process.hrtime.bigint() - started));
        return;
      }
      reply = isMeshReply(result) ? result : { body: result };
    } catch (err) {
      this.logger.error?.(`handler for ${msg.subject} failed: ${(err as Error)?.message ?? String(err)}`);
      const failure = failureOf(err, FailureCode.INTERNAL);
      this.stats.record(endpoint, Number(process.hrtime.bigint() - started), `${failure.code}: ${failure.message}`);
      if (!msg.reply) return;
      this.respond(msg, { body: ResponseMessage.failure(undefined, failure), headers: serviceErrorHeaders(failure) });
      return;
    }
    const error = reply.headers?.[MeshHeader.ServiceError];
    this.stats.record(endpoint, Number(process.hrtime.bigint() - started), error === undefined ? undefined : `${reply.headers?.[MeshHeader.ServiceErrorCode] ?? ''}: ${error}`);
    this.respond(msg, reply);
  }

  private respond(msg: Msg, reply: MeshReply): void {
    const data = reply.body instanceof Uint8Array ? reply.body : this.encoder.encode(JSON.stringify(reply.body ?? null));
    let hdrs;
    if (reply.headers && Object.keys(reply.headers).length > 0) {
      hdrs = natsHeaders();
      for (const [k, v] of Object.entries(reply.headers)) hdrs.set(k, v);
    }
    try {
      msg.respond(data, hdrs ? { headers: hdrs } : undefined);
    } catch (err) {
      this.logger.error?.(`cannot reply on ${msg.reply}: ${(err as Error).message}`);
    }
  }
}

