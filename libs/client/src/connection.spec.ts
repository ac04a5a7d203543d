import { clientSettings, connectAttempts, CONNECT_ATTEMPT_TIMEOUT_MS, DEFAULT_SERVER_URL, natsOptions, serverList } from './connection.js';
import { MeshConnectError } from './errors.js';

const noFiles = (path: string): Uint8Array => {
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
};
const files = (content: Record<string, string>) => (path: string): Uint8Array => {
  if (!(path in content)) return noFiles(path);
  return new TextEncoder().encode(content[path]);
};

describe(natsOptions.name, () => {
  it('defaults to a local server, a client name and reconnects forever, with a bounded attempt timeout', () => {
    expect(natsOptions({}, noFiles)).toMatchObject({
      servers: [DEFAULT_SERVER_URL], name: 'taskmesh-client', reconnect: true, maxReconnectAttempts: -1, timeout: CONNECT_ATTEMPT_TIMEOUT_MS,
    });
  });

  it('splits a comma list of servers and keeps an array as it is', () => {
    expect(serverList('nats://a:4222, nats://b:4222,')).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(serverList(['nats://a:1', ' nats://b:2 '])).toEqual(['nats://a:1', 'nats://b:2']);
    expect(serverList('')).toEqual([DEFAULT_SERVER_URL]);
  });

  it('maps user/password, token, TLS files', () => {
    expect(natsOptions({ user: 'alice', password: 's3cret' }, noFiles)).toMatchObject({ user: 'alice', pass: 's3cret' });
    expect(natsOptions({ token: 't0k' }, noFiles)).toMatchObject({ token: 't0k' });
    expect(natsOptions({ tls: { caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' } }, noFiles).tls).toEqual({ caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' });
    expect(natsOptions({ tls: { caFile: '/ca.pem' } }, noFiles).tls).toEqual({ caFile: '/ca.pem' });
  });

  it('reads a creds file or an nkey seed file into an authenticator', () => {
    const seed = 'SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4';
    expect(typeof natsOptions({ nkeySeedFile: '/seed' }, files({ '/seed': `${seed}\n` })).authenticator).toBe('function');
    expect(typeof natsOptions({ credsFile: '/creds' }, files({ '/creds': 'anything: read lazily by nats.js' })).authenticator).toBe('function');
  });

  it('refuses two authentication methods, a password without user, unreadable or wrong files, naming the option', () => {
    const refusal = (options: Parameters<typeof natsOptions>[0], read = noFiles): MeshConnectError => {
      try {
        natsOptions(options, read);
      } catch (err) {
        return err as MeshConnectError;
      }
      throw new Error('not refused');
    };
    expect(refusal({ user: 'a', password: 'b', token: 't' })).toMatchObject({ retryable: false, message: expect.stringMatching(/^cannot connect to nats:\/\/127\.0\.0\.1:4222: options name user\/password and token/) });
    expect(refusal({ password: 'b' }).message).toMatch(/options\.password is set without options\.user/);
    expect(refusal({ credsFile: '/nope' }).message).toMatch(/options\.credsFile \/nope cannot be read \(ENOENT\)/);
    expect(refusal({ nkeySeedFile: '/seed' }, files({ '/seed': 'not a seed' })).message).toMatch(/does not hold an nkey seed/);
    expect(refusal({ nkeySeedFile: '/seed' })).toBeInstanceOf(MeshConnectError);
  });
});

describe(clientSettings.name, () => {
  it('defaults the prefix and timeout, and checks them', () => {
    expect(clientSettings({})).toMatchObject({ timeoutMs: 30_000, subjects: { prefix: 'mesh' } });
    expect(clientSettings({ prefix: 'a.b', timeoutMs: 5 }).subjects.call('echo')).toBe('a.b.call.echo');
    expect(() => clientSettings({ prefix: 'a.*' })).toThrow(/prefix/);
    expect(() => clientSettings({ timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => clientSettings({ timeoutMs: 1.5 })).toThrow(/timeoutMs/);
  });

  it('bounds connectAttempts', () => {
    expect(connectAttempts({})).toBe(1);
    expect(connectAttempts({ connectAttempts: 5 })).toBe(5);
    expect(() => connectAttempts({ connectAttempts: 0 })).toThrow(/connectAttempts/);
    expect(() => connectAttempts({ connectAttempts: 1e6 })).toThrow(/connectAttempts/);
  });
});
