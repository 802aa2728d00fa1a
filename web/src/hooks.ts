import { useCallback, useEffect, useRef, useState } from 'react';
import { api, type RouteTable, routeTable } from './api';

export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  /** True until the first answer (or error) arrives. */
  loading: boolean;
  refresh: () => void;
}

/**
 * Calls `load` now and every `intervalMs` (null = once), keeping the last good data when a later call
 * fails so a hiccup does not blank the page. Changing `key` (JSON-comparable values the load depends
 * on) starts over.
 */
export function usePoll<T>(
  load: (signal: AbortSignal) => Promise<T>,
  intervalMs: number | null,
  key: unknown[] = [],
): Polled<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const keyText = JSON.stringify(key);
  const lastKey = useRef(keyText);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `tick` forces a reload.
  useEffect(() => {
    if (lastKey.current !== keyText) {
      // Different data now (another device, period...): do not show the previous one meanwhile.
      lastKey.current = keyText;
      setData(undefined);
      setLoading(true);
      setError(null);
    }
    const ctrl = new AbortController();
    let timer: number | undefined;
    const run = async () => {
      try {
        const value = await loadRef.current(ctrl.signal);
        if (ctrl.signal.aborted) return;
        setData(value);
        setError(null);
      } catch (e) {
        if (ctrl.signal.aborted) return;
        setError(e);
      }
      setLoading(false);
      if (intervalMs !== null && !ctrl.signal.aborted) timer = window.setTimeout(run, intervalMs);
    };
    run();
    return () => {
      ctrl.abort();
      window.clearTimeout(timer);
    };
  }, [intervalMs, tick, keyText]);

  const refresh = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, refresh };
}

/**
 * Polls GET `path` as usePoll does. A null path (the route is missing, nothing is chosen yet) fetches
 * nothing and leaves `data` undefined, so callers need no placeholder promise.
 */
export function usePollApi<T>(
  path: string | null,
  intervalMs: number | null,
  key: unknown[] = [],
): Polled<T> {
  return usePoll(
    (signal) => (path === null ? Promise.resolve(undefined as T) : api<T>(path, { signal })),
    path === null ? null : intervalMs,
    [path, ...key],
  );
}

export type SseState = 'off' | 'connecting' | 'open' | 'failed' | 'ended';

/** Return it from an event handler to close the stream for good (the server said it is finished). */
export const END_STREAM = 'end';

/**
 * Subscribes to a server-sent-events stream. A stream that never opens (the route is missing, or a
 * proxy drops it) ends in 'failed' so the caller can fall back to polling; one that drops after
 * opening reconnects on its own, unless a handler returned END_STREAM.
 */
export function useSse(url: string | null, handlers: Record<string, (data: unknown) => unknown>): SseState {
  const [state, setState] = useState<SseState>(url ? 'connecting' : 'off');
  const handlersRef = useRef(handlers);
  handlersRef.current = handlers;
  const events = Object.keys(handlers).sort().join(',');

  useEffect(() => {
    if (!url) {
      setState('off');
      return;
    }
    setState('connecting');
    const source = new EventSource(url);
    let opened = false;
    source.onopen = () => {
      opened = true;
      setState('open');
    };
    source.onerror = () => {
      if (!opened || source.readyState === EventSource.CLOSED) {
        source.close();
        setState('failed');
      } else setState('connecting');
    };
    for (const event of events.split(',').filter(Boolean)) {
      source.addEventListener(event, (e) => {
        let outcome: unknown;
        try {
          outcome = handlersRef.current[event]?.(JSON.parse((e as MessageEvent<string>).data));
        } catch {
          // A malformed event is skipped; the next one carries the full state again.
        }
        if (outcome === END_STREAM) {
          source.close();
          setState('ended');
        }
      });
    }
    return () => source.close();
  }, [url, events]);

  return state;
}

/** The server's route table (from /openapi.json); null while loading. */
export function useRoutes(): { routes: RouteTable | null; error: unknown } {
  const [routes, setRoutes] = useState<RouteTable | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    routeTable().then(
      (r) => live && setRoutes(r),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, []);
  return { routes, error };
}
