import type { LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { errorText, type ResolvedTarget, resolveTarget, round3 } from './transport';
import { DEFAULT_TIMEOUT_MS, type LoadTarget, type RequestResult } from './types';

/**
 * One request (for `GET /test-latency`): never throws; a failure is status_code 0 with `error`.
 * Redirects are not followed (a 3xx is the answer), as in the engine. `lookup` resolves the host name.
 */
export async function measureOnce(
  target: LoadTarget,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  opts: { lookup?: LookupFunction } = {},
): Promise<RequestResult> {
  const timestamp = new Date().toISOString();
  let resolved: ResolvedTarget;
  try {
    resolved = resolveTarget(target);
  } catch (e) {
    return { status_code: 0, latency_ms: null, timestamp, error: (e as Error).message };
  }
  const { path, method, headers, body } = resolved.request;
  // A dedicated agent only when sockets need the caller's lookup; otherwise the shared global one.
  const dispatcher = opts.lookup
    ? new Agent({ connect: { lookup: opts.lookup }, connections: 1 })
    : undefined;
  const started = performance.now();
  try {
    const res = await request(resolved.origin + path, {
      dispatcher,
      method,
      headers: [...headers],
      body,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
    return {
      status_code: res.statusCode,
      latency_ms: round3(performance.now() - started),
      timestamp,
      error: null,
    };
  } catch (e) {
    const err = e as Error & { code?: string };
    const text = err.name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : errorText(err);
    return { status_code: 0, latency_ms: null, timestamp, error: text };
  } finally {
    if (dispatcher) void dispatcher.close();
  }
}
