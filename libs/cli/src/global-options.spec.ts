import { connectFailure, connectOptionsOf, type GlobalOptions } from './global-options.js';

const defaults: GlobalOptions = { server: 'nats://127.0.0.1:4222', prefix: 'mesh', json: false };

describe(connectOptionsOf.name, () => {
  it('tries once and names the connection, with nothing else set by default', () => {
    expect(connectOptionsOf(defaults)).toEqual({ servers: 'nats://127.0.0.1:4222', prefix: 'mesh', name: 'taskmesh-cli', connectAttempts: 1 });
  });

  it('takes one way to authenticate', () => {
    expect(() => connectOptionsOf({ ...defaults, creds: 'a.creds', token: 't' })).toThrow('--creds and --token are alternatives: give one');
    expect(() => connectOptionsOf({ ...defaults, password: 'p' })).toThrow('--password needs --user');
    expect(() => connectOptionsOf({ ...defaults, nkeySeed: 'u.nk', user: 'u' })).toThrow('--nkey-seed and --user are alternatives: give one');
  });

  it('maps each way to authenticate, and the TLS CA', () => {
    expect(connectOptionsOf({ ...defaults, user: 'caller', password: 'pw', tlsCa: 'ca.pem' })).toMatchObject({ user: 'caller', password: 'pw', tls: { caFile: 'ca.pem' } });
    expect(connectOptionsOf({ ...defaults, token: 't' })).toMatchObject({ token: 't' });
    expect(connectOptionsOf({ ...defaults, creds: 'a.creds' })).toMatchObject({ credsFile: 'a.creds' });
    expect(connectOptionsOf({ ...defaults, nkeySeed: 'u.nk' })).toMatchObject({ nkeySeedFile: 'u.nk' });
  });
});

describe(connectFailure.name, () => {
  it('finds an authorization error along the cause chain', () => {
    const auth = Object.assign(new Error('Authorization Violation'), { name: 'AuthorizationError' });
    expect(connectFailure(Object.assign(new Error('cannot connect to x: y', { cause: auth }), { retryable: false }))).toBe('refused');
    expect(connectFailure(new Error('cannot connect to x: the server refused the credentials (z)'))).toBe('refused');
    expect(connectFailure(Object.assign(new Error('refused'), { name: 'NatsAuthError' }))).toBe('refused');
  });

  it('tells options that cannot work from a server that is not there', () => {
    expect(connectFailure(Object.assign(new Error('options.credsFile /x cannot be read (ENOENT)'), { retryable: false }))).toBe('config');
    expect(connectFailure(new RangeError('options.timeoutMs must be an integer'))).toBe('config');
    expect(connectFailure(Object.assign(new Error('cannot connect to x: ECONNREFUSED'), { retryable: true }))).toBe('unreachable');
    expect(connectFailure(new Error('connect ECONNREFUSED 127.0.0.1:4222'))).toBe('unreachable');
    expect(connectFailure(undefined)).toBe('unreachable');
  });
});
