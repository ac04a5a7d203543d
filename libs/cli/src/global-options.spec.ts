import { connectOptionsOf, isRefusal, type GlobalOptions } from './global-options.js';

const defaults: GlobalOptions = { server: 'nats://127.0.0.1:4222', prefix: 'mesh', json: false };

describe(connectOptionsOf.name, () => {
  it('tries once and names the connection, with nothing else set by default', () => {
    expect(connectOptionsOf(defaults)).toEqual({ servers: 'nats://127.0.0.1:4222', prefix: 'mesh', name: 'taskmesh-cli', connectAttempts: 1 });
  });

  it('takes one way to authenticate', () => {
    expect(() => connectOptionsOf({ ...defaults, creds: 'a.creds', token: 't' })).toThrow('--creds and --token are alternatives: give one');
    expect(() => connectOptionsOf({ ...defaults, password: 'p' })).toThrow('--password needs --user');
  });
});

describe(isRefusal.name, () => {
  it('finds an authorization error along the cause chain', () => {
    const auth = Object.assign(new Error('Authorization Violation'), { name: 'AuthorizationError' });
    expect(isRefusal(new Error('NATS at x refused the connection', { cause: auth }))).toBe(true);
    expect(isRefusal(Object.assign(new Error('refused'), { name: 'NatsAuthError' }))).toBe(true);
    expect(isRefusal(new Error('connect ECONNREFUSED 127.0.0.1:4222'))).toBe(false);
    expect(isRefusal(undefined)).toBe(false);
  });
});
