import 'reflect-metadata';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { of } from 'rxjs';
import { inboxPrefix, MeshError, FailureCode, Role, Subjects } from '@taskmesh/protocol';
import { MeshTransport, meshReply, NatsModule, type MeshContext } from '@taskmesh/nats';
import { startNatsServer, type NatsServer } from '@taskmesh/testing';

const T = 30_000;

// What each task name makes the `mesh.call.*` handler return.
@Controller()
class Calls {
  @MessagePattern('callAll')
  call(@Payload() data: Uint8Array, @Ctx() ctx: MeshContext): unknown {
    const task = ctx.getSubject().split('.').at(-1);
    const text = new TextDecoder().decode(data);
    if (task === 'value') return { echoed: text };
    if (task === 'reply') return Promise.resolve(meshReply(new TextEncoder().encode(`raw:${text}`), { 'Mesh-Test': 'yes' }));
    if (task === 'observable') return of({ first: true }, { second: true });
    if (task === 'refused') throw new MeshError(FailureCode.OVERLOADED, 'too busy');
    return Promise.reject(new Error('broken handler'));
  }
}

// The transport every app serves its requests with: raw bytes in, the handler's value (or its failure) out.
describe(MeshTransport.name, () => {
  let server: NatsServer;
  let app: INestMicroservice;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await startNatsServer();
    // The app serves mesh.call.* as the router does, so it connects as the router; the test calls as a caller.
    const { user, pass } = server.login(Role.Router);
    @Module({ imports: [NatsModule.forRoot({ servers: server.url, user, password: pass, inboxPrefix: inboxPrefix(Role.Router), name: 'transport-test', prefix: 'mesh' })], controllers: [Calls] })
    class AppModule {}
    const transport = new MeshTransport(new Subjects('mesh'), 'test-queue');
    app = await NestFactory.createMicroservice(AppModule, { strategy: transport, logger: false });
    transport.attachTo(app);
    await app.listen();
    nc = await connect({ servers: server.url, ...server.login(Role.Caller) });
  }, T);
  afterAll(async () => {
    await nc?.close();
    await app?.close();
    await server?.stop();
  }, T);

  const ask = (task: string, body = 'hi') => nc.request(`mesh.call.${task}`, body, { timeout: 5000 });

  it('answers with the JSON of a plain value, without headers', async () => {
    const r = await ask('value');
    expect(r.json()).toEqual({ echoed: 'hi' });
    expect(r.headers).toBeUndefined();
  }, T);

  it('answers a MeshReply with its bytes as they are and its headers', async () => {
    const r = await ask('reply', 'x');
    expect(r.string()).toBe('raw:x');
    expect(r.headers?.get('Mesh-Test')).toBe('yes');
  }, T);

  it('answers an Observable with its first value', async () => {
    expect((await ask('observable')).json()).toEqual({ first: true });
  }, T);

  it('answers a handler that throws with an INTERNAL FAILURE RESPONSE and the error headers (Nest\'s exception layer hides the error: handlers answer their own failures)', async () => {
    for (const task of ['refused', 'broken']) {
      const r = await ask(task);
      expect(r.json()).toMatchObject({ type: 'RESPONSE', state: 'FAILURE', data: { failure: { code: 'INTERNAL' } } });
      expect(r.headers?.get('Nats-Service-Error-Code')).toBe('500');
      expect(r.headers?.get('Nats-Service-Error')).toMatch(/\S/);
    }
  }, T);
});
