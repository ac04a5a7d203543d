import { RequestError, RequestOne } from '@nats-io/nats-core/internal';

/**
 * A workaround for a cost in nats.js 3.4.0 (`@nats-io/nats-core`): every successful `request()` (so every
 * `js.publish`, KV get, create and update) ends in `RequestOne.cancel()`, which rejects the request's promise, already
 * resolved by then, with a `new RequestError("cancelled")`: a stack trace captured for nothing, about 8% of the
 * router's and the orchestrator's CPU under load (docs/BENCHMARKS.md). The replacement does the same with one
 * shared error. `cancel()` without an error is called only once the request is over: after its promise was settled,
 * or after the caller's promise (a race of that promise and the timeout) has already rejected with the timeout; so
 * the rejection it makes reaches no caller, and nothing can observe the difference. (The request-many kind, which
 * can be cancelled while open, is another class and is left alone.)
 *
 * Installed only on the code it was written against (pinned in package.json): on another version it changes
 * nothing and says so.
 */
const EXPECTED = /this\.mux\.cancel\(this\);\s*this\.deferred\.reject\(err \? err : new errors_1\.RequestError\("cancelled"\)\);/;

interface RequestOneInternals {
  timer?: { cancel(): void };
  mux: { cancel(request: unknown): void };
  deferred: { reject(err: Error): void };
  cancel(err?: Error): void;
}

let installed: boolean | undefined;

/** Installs the workaround once per process; true when it is in place. */
export function installRequestCancelFix(): boolean {
  if (installed !== undefined) return installed;
  const proto = RequestOne.prototype as unknown as RequestOneInternals;
  installed = EXPECTED.test(proto.cancel.toString());
  if (!installed) return false;
  const cancelled = new RequestError('cancelled');
  proto.cancel = function cancel(this: RequestOneInternals, err?: Error): void {
    this.timer?.cancel();
    this.mux.cancel(this);
    this.deferred.reject(err ?? cancelled);
  };
  return true;
}
