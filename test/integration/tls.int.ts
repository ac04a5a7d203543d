// TLS with a certificate made here (openssl): a CA, and a server certificate it signs for 127.0.0.1 and localhost (nats.js verifies a loopback server as localhost). The SDK and an
// app connect only when told to trust that CA (NATS_TLS_CA / tls.caFile).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshClient, MeshConnectError } from '@taskmesh/client';
import { Role } from '@taskmesh/protocol';
import { ProcessGroup, spawnApp, startNatsServer, type NatsServer } from '@taskmesh/testing';

const T = 60_000;

describe('TLS with a CA made in the test', () => {
  const group = new ProcessGroup();
  let dir: string;
  let server: NatsServer;
  let ca: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'taskmesh-tls-'));
    const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    ca = join(dir, 'ca.pem');
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=taskmesh test CA', '-days', '1');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName = IP:127.0.0.1,DNS:localhost\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext');
    server = group.add(await startNatsServer({ config: `tls { cert_file: "${join(dir, 'server.pem')}", key_file: "${join(dir, 'server.key')}" }\n` }));
  }, T);

  afterAll(async () => {
    await group.stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the SDK connects with the CA, and is refused without it', async () => {
    const { user, pass: password } = server.login(Role.Caller);
    const client = await MeshClient.connect({ servers: server.url, user, password, tls: { caFile: ca } });
    try {
      expect(client.nc.info?.tls_required).toBe(true);
      await client.nc.flush();
    } finally {
      await client.close();
    }
    await expect(MeshClient.connect({ servers: server.url, user, password })).rejects.toBeInstanceOf(MeshConnectError);
  }, T);

  it('an app boots over TLS with NATS_TLS_CA', async () => {
    const router = group.add(spawnApp('router', { ...server.appEnv(Role.Router), NATS_TLS_CA: ca, MESH_HTTP_PORT: '0' }, { name: 'router' }));
    await router.waitForLine(/"router started"/, 30_000);
    await router.stop();
  }, T);
});
