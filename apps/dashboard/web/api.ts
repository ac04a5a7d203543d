// The page's only ways to the server: JSON requests to /api and one EventSource on /api/live (pushed updates).
import { useEffect, useRef } from 'preact/hooks';

/** An API answer that is not 2xx: its `{error: {code, message}}`. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** GET (or another method with a JSON body) on the dashboard's API; rejects with ApiError. */
export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
  });
  const body = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok) throw new ApiError(res.status, body.error?.code ?? 'HTTP', body.error?.message ?? `${res.status} ${res.statusText}`);
  return body as T;
}

/** The live update types the server pushes, and `reopened`: the stream is back after a drop (updates were missed). */
export type LiveType = 'worker' | 'workers' | 'invocation' | 'dispatch' | 'stats' | 'reopened';
const TYPES: LiveType[] = ['worker', 'workers', 'invocation', 'dispatch', 'stats'];

type Handler = (data: unknown) => void;
const handlers = new Map<LiveType, Set<Handler>>([...TYPES, 'reopened' as const].map((t) => [t, new Set()]));
const statusListeners = new Set<(connected: boolean) => void>();
let connected = false;

/** Opens the event stream once (EventSource reconnects by itself after a drop). */
export function connectLive(): void {
  const source = new EventSource('/api/live');
  for (const type of TYPES) {
    source.addEventListener(type, (ev) => {
      const data: unknown = JSON.parse((ev as MessageEvent<string>).data);
      for (const h of handlers.get(type)!) h(data);
    });
  }
  const setStatus = (up: boolean): void => {
    connected = up;
    for (const l of statusListeners) l(up);
  };
  let dropped = false;
  source.onopen = () => {
    setStatus(true);
    if (dropped) for (const h of handlers.get('reopened')!) h({});
  };
  source.onerror = () => {
    dropped = true;
    setStatus(false);
  };
}

/** Calls `handler` with every pushed update of `type` while the component is mounted. */
export function useLive<T>(type: LiveType, handler: (data: T) => void): void {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    const h: Handler = (d) => ref.current(d as T);
    handlers.get(type)!.add(h);
    return () => void handlers.get(type)!.delete(h);
  }, [type]);
}

/** Follows the stream's connection state. */
export function onLiveStatus(listener: (connected: boolean) => void): () => void {
  statusListeners.add(listener);
  listener(connected);
  return () => void statusListeners.delete(listener);
}

/**
 * A function that runs `fn` at most once per `ms`, the last call winning (a burst of pushed updates becomes one
 * re-read of the view).
 */
export function useDebounced(fn: () => void, ms: number): () => void {
  const ref = useRef(fn);
  ref.current = fn;
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return () => {
    if (timer.current !== undefined) return;
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      ref.current();
    }, ms);
  };
}
