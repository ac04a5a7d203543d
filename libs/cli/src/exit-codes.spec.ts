import { CycleDetectedError, FAILURE_CODES, MeshTimeoutError, TaskFailedError } from '@taskmesh/protocol';
import {
  ConnectFailedError,
  EXIT_CONFIG,
  EXIT_ERROR,
  EXIT_INTERRUPTED,
  EXIT_NOPERM,
  EXIT_STILL_RUNNING,
  EXIT_UNAVAILABLE,
  EXIT_USAGE,
  FAILURE_EXIT_CODES,
  InterruptedError,
  exitCodeOf,
  exitCodesHelp,
  isStillRunning,
} from './exit-codes.js';

describe('exit codes', () => {
  it('give every failure code its own status, clear of the others', () => {
    const statuses = FAILURE_CODES.map((code) => FAILURE_EXIT_CODES[code]);
    const others = [0, EXIT_CONFIG, EXIT_ERROR, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_STILL_RUNNING, EXIT_NOPERM, EXIT_INTERRUPTED];
    expect(new Set([...statuses, ...others]).size).toBe(statuses.length + others.length);
    for (const status of statuses) expect(status).toBeGreaterThan(2);
  });

  it('map what a command throws to its status', () => {
    expect(exitCodeOf(new CycleDetectedError('loop'))).toBe(16);
    expect(exitCodeOf(new TaskFailedError('boom'))).toBe(14);
    // A failure rebuilt by another copy of the protocol package still counts by its code.
    expect(exitCodeOf({ code: 'NOT_FOUND', message: 'no such', retryable: false })).toBe(19);
    expect(exitCodeOf(new ConnectFailedError('nats://x:1', 'unreachable', { cause: new Error('ECONNREFUSED') }))).toBe(69);
    expect(exitCodeOf(new ConnectFailedError('nats://x:1', 'refused', { cause: new Error('Authorization Violation') }))).toBe(77);
    expect(exitCodeOf(new ConnectFailedError('nats://x:1', 'config', { cause: new Error('cannot read u.creds') }))).toBe(78);
    expect(exitCodeOf(new InterruptedError())).toBe(130);
    expect(exitCodeOf(Object.assign(new Error('socket closed'), { code: 'ECONNRESET' }))).toBe(EXIT_ERROR);
    expect(exitCodeOf('a string')).toBe(EXIT_ERROR);
  });

  it('tell a wait that ran out of time from an invocation that failed TIMEOUT', () => {
    expect(isStillRunning(new MeshTimeoutError('still running', { details: { state: 'RUNNING' } }))).toBe(true);
    expect(isStillRunning(new MeshTimeoutError('still waiting', { details: { state: 'WAITING' } }))).toBe(true);
    expect(isStillRunning(new MeshTimeoutError('not started before its deadline'))).toBe(false);
    expect(isStillRunning(new MeshTimeoutError('odd', { details: { state: 'FAILURE' } }))).toBe(false);
    expect(isStillRunning(new TaskFailedError('boom', { details: { state: 'RUNNING' } }))).toBe(false);
  });

  it('are listed in the help, one line each', () => {
    const help = exitCodesHelp();
    for (const code of FAILURE_CODES) expect(help).toContain(`${FAILURE_EXIT_CODES[code]}  ${code}\n`);
    expect(help).toMatch(/^ {4}2 {2}usage error/m);
  });
});
