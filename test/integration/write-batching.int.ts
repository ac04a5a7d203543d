import { connect, type NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '@taskmesh/nats';
import { Role } from '@taskmesh/protocol';
import { startNatsServer, waitFor, type NatsServer } from '@taskmesh/testing';

const T = 30_000;

// The router, orchestrator and scheduler connect with `batchWrites` (libs/nats/src/write-batching.ts): what they
// send in one turn of the event loop is written after the turn. Nothing may be lost, reordered or held back.
describe('batched socket writes', () => {
  let server: NatsServer;
  let batched: NatsConnection;
  let plain: NatsConnection;

  beforeAll(async () => {
    server = await startNatsServer({ jetstream: false });
    // Subjects of the test's own (`batched.*`): the admin may use them.
    const { user, pass } = server.login(Role.Admin);
    batched = await connectNats({ servers: server.url, user, password: pass, name: 'batched', batchWrites: true });
    plain = await connect({ servers: server.url, user, pass });
  }, T);
  afterAll(async () => {
    await batched?.close();
    await plain?.close();
    await server?.stop();
  }, T);

  it('delivers everything in the order sent, from microtasks, timers and plain code of many turns', async () => {
    const got: number[] = [];
    const sub = plain.subscribe('batched.order', { callback: (_e, m) => void got.push(Number(m.string())) });
    await plain.flush();
    let n = 0;
    const send = (): void => batched.publish('batched.order', String(n++));
    for (let turn = 0; turn < 50; turn++) {
      send();
      await Promise.resolve().then(send).then(send);
      await new Promise((resolve) => setTimeout(resolve, 0));
      send();
    }
    await batched.flush();
    await waitFor(() => got.length === n, { timeoutMs: 5000, what: `all ${n} messages` });
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
    sub.unsubscribe();
  }, T);

  it('answers requests both ways without waiting for anything else to happen', async () => {
    const echo = batched.subscribe('batched.echo', { callback: (_e, m) => void m.respond(m.data) });
    const back = plain.subscribe('plain.echo', { callback: (_e, m) => void m.respond(m.data) });
    await batched.flush();
    await plain.flush();
    const started = performance.now();
    for (let i = 0; i < 100; i++) {
      expect((await plain.request('batched.echo', String(i), { timeout: 1000 })).string()).toBe(String(i));
      expect((await batched.request('plain.echo', String(i), { timeout: 1000 })).string()).toBe(String(i));
    }
    // 200 round trips on loopback: milliseconds each at worst, never a timer's worth of delay per write.
    expect(performance.now() - started).toBeLessThan(5_000);
    echo.unsubscribe();
    back.unsubscribe();
  }, T);

  it('writes a buffer past its limit at once, within the turn, and loses none of a burst', async () => {
    let count = 0;
    const sub = plain.subscribe('batched.burst', { callback: () => void count++ });
    await plain.flush();
    const payload = new Uint8Array(32 * 1024);
    for (let i = 0; i < 2000; i++) batched.publish('batched.burst', payload);
    await waitFor(() => count === 2000, { timeoutMs: 10_000, what: 'the burst' });
    sub.unsubscribe();
  }, T);
});
