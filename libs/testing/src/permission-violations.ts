import { readFileSync } from 'node:fs';
import type { AppProcess } from './app-process.js';

/**
 * What a refused publish or subscribe looks like: nats-server logs `Publish Violation` / `Subscription Violation`
 * (and JetStream API refusals as a permissions violation); a client hears `Permissions Violation for ...` and the
 * apps log it as `NATS server error` (libs/nats watchNatsStatus).
 */
export const PERMISSION_VIOLATION = /Permissions? Violation|Publish Violation|Subscription Violation|NATS server error/i;

/** Where to look for permission violations. */
export interface ViolationSources {
  /** nats-server log files (`NatsServer.logFile`); a missing file counts as empty. */
  logFiles?: readonly string[];
  /** Apps whose captured output is searched; lines are prefixed with the app's name. */
  apps?: readonly AppProcess[];
  /** Lines a test provoked on purpose (e.g. its own connection's name), left out of the answer. */
  except?: RegExp;
}

/**
 * The lines of the server logs and the apps' output that report a permission violation: empty when every role did
 * all it had to within its permissions (rolePermissions in @taskmesh/protocol).
 */
export function permissionViolations(sources: ViolationSources): string[] {
  const keep = (line: string): boolean => PERMISSION_VIOLATION.test(line) && !(sources.except?.test(line) ?? false);
  const fromLogs = (sources.logFiles ?? []).flatMap((file) => readLines(file).filter(keep));
  const fromApps = (sources.apps ?? []).flatMap((app) => app.lines().filter(keep).map((line) => `${app.name}: ${line}`));
  return [...fromLogs, ...fromApps];
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}
