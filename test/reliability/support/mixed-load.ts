/**
 * The mixed workload of the soak test, through undici against a real server: log lines, device
 * readings, A/B lookups of new and returning devices, sensor readings, and all-time device aggregates.
 * `closedLoop` measures capacity (fixed concurrency, as fast as answered); `openLoop` sends at a fixed
 * rate whatever the answers do (so a slowing server shows up as latency, not as fewer requests) and
 * reports per-window latencies for sampling.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

/**
 * Devices the readings and all-time aggregates spread over: 1 000, as in the devices benchmark. An
 * all-time aggregate reads every row of its device (an exact median has no shortcut), so its cost grows
 * with the device's history; with 50 devices a 10-minute soak gave each ~6 000 rows and the all-time
 * reads alone outgrew half a core, a trend of the workload's shape rather than of the server. With
 * 1 000 each device ends near 300 rows, well inside the devices issue's 10 000-row all-time goal.
 */
export const DEVICE_POOL = 1000;

interface Req {
  kind: string;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

const json = { 'content-type': 'application/json' };

export class MixedWorkload {
  private readonly returning: string[] = [];
  private seq = 0;

  next(): Req {
    const i = this.seq++;
    const r = (i * 7919) % 100; // a fixed, well-spread mix: the same shares in every window
    const device = `soak-${i % DEVICE_POOL}`;
    if (r < 20) {
      return {
        kind: 'logs',
        method: 'POST',
        path: '/api/data',
        headers: json,
        body: JSON.stringify({ log: `10.1.${i % 250}.${i % 200} GET /soak/${i} 200` }),
      };
    }
    if (r < 45) {
      return {
        kind: 'device-data',
        method: 'POST',
        path: `/devices/${device}/data`,
        headers: json,
        body: JSON.stringify({ x: i % 1000, y: -(i % 77), z: (i % 13) / 7 }),
      };
    }
    if (r < 55 || this.returning.length === 0) {
      const token = randomUUID();
      if (this.returning.length < 5000) this.returning.push(token);
      return {
        kind: 'ab-new',
        method: 'GET',
        path: '/api/v1/experiments',
        headers: { 'device-token': token },
      };
    }
    if (r < 70) {
      const token = this.returning[i % this.returning.length]!;
      return {
        kind: 'ab-returning',
        method: 'GET',
        path: '/api/v1/experiments',
        headers: { 'device-token': token },
      };
    }
    if (r < 90) {
      return {
        kind: 'sensor-data',
        method: 'POST',
        path: '/sensor-data',
        headers: json,
        body: JSON.stringify({ datetime: new Date().toISOString(), payload: 100 + (i % 21) }),
      };
    }
    return { kind: 'all-time', method: 'GET', path: `/devices/${device}/data/all` };
  }
}

export interface Outcome {
  ok: boolean;
  ms: number;
  kind: string;
  error?: string;
}

export function createClient(url: string, connections = 64) {
  const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  return {
    async send(req: Req): Promise<Outcome> {
      const t0 = performance.now();
      try {
        const res = await pool.request({
          method: req.method,
          path: req.path,
          headers: req.headers,
          ...(req.body !== undefined ? { body: req.body } : {}),
          headersTimeout: 30_000,
          bodyTimeout: 30_000,
        });
        const text = await res.body.text();
        const ok = res.statusCode >= 200 && res.statusCode < 300;
        return {
          ok,
          ms: performance.now() - t0,
          kind: req.kind,
          ...(ok ? {} : { error: `${req.method} ${req.path} -> ${res.statusCode} ${text.slice(0, 160)}` }),
        };
      } catch (e) {
        return {
          ok: false,
          ms: performance.now() - t0,
          kind: req.kind,
          error: `${req.method} ${req.path}: ${String(e)}`,
        };
      }
    },
    close: () => pool.close(),
  };
}

/** Requests per second at `concurrency` clients for `seconds`. */
export async function closedLoop(
  url: string,
  seconds: number,
  concurrency: number,
  load = new MixedWorkload(),
) {
  const client = createClient(url, concurrency);
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const o = await client.send(load.next());
        done++;
        if (!o.ok) errors++;
      }
    }),
  );
  await client.close();
  return { rps: done / seconds, errors };
}

export interface Window {
  at: number;
  latencies: number[];
  byKind: Record<string, number[]>;
  errors: string[];
  sent: number;
}

/**
 * Sends `rate` requests per second for `seconds`; every `windowMs` hands the window's outcomes to
 * `onWindow` (awaited, so sampling the server happens on the same clock). Requests beyond
 * `maxInFlight` are not sent and count as errors: the server fell behind.
 */
export async function openLoop(
  url: string,
  opts: { rate: number; seconds: number; windowMs: number; maxInFlight?: number; load?: MixedWorkload },
  onWindow: (w: Window, index: number) => Promise<void>,
): Promise<{ sent: number; completed: number; errors: string[] }> {
  const load = opts.load ?? new MixedWorkload();
  const client = createClient(url, 64);
  const maxInFlight = opts.maxInFlight ?? 2000;
  const start = performance.now();
  const end = start + opts.seconds * 1000;
  let sent = 0;
  let completed = 0;
  let inFlight = 0;
  const allErrors: string[] = [];
  let win: Window = { at: 0, latencies: [], byKind: {}, errors: [], sent: 0 };
  let windowIndex = 0;
  let nextWindow = start + opts.windowMs;
  const pending = new Set<Promise<void>>();

  while (performance.now() < end) {
    const now = performance.now();
    const due = Math.floor(((now - start) / 1000) * opts.rate);
    while (sent < due) {
      sent++;
      win.sent++;
      if (inFlight >= maxInFlight) {
        win.errors.push('client: too many requests in flight (the server fell behind)');
        continue;
      }
      inFlight++;
      const w = win;
      const p = client.send(load.next()).then((o) => {
        inFlight--;
        completed++;
        // Attributed to the window the request was sent in.
        w.latencies.push(o.ms);
        const kind = w.byKind[o.kind] ?? [];
        kind.push(o.ms);
        w.byKind[o.kind] = kind;
        if (!o.ok) w.errors.push(o.error ?? o.kind);
      });
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
    if (now >= nextWindow) {
      const finished = win;
      finished.at = (now - start) / 1000;
      win = { at: 0, latencies: [], byKind: {}, errors: [], sent: 0 };
      nextWindow += opts.windowMs;
      allErrors.push(...finished.errors);
      await onWindow(finished, windowIndex++);
    }
    await sleep(2);
  }
  await Promise.all(pending);
  allErrors.push(...win.errors);
  await client.close();
  return { sent, completed, errors: allErrors };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The server's own view from /metrics: resident memory and CPU seconds used so far. */
export async function processMetrics(url: string): Promise<{ rss: number; cpuSeconds: number }> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  const value = (name: string) => {
    const m = new RegExp(`^${name}\\s+(\\S+)`, 'm').exec(text);
    if (!m) throw new Error(`${name} not in /metrics`);
    return Number(m[1]);
  };
  return { rss: value('process_resident_memory_bytes'), cpuSeconds: value('process_cpu_seconds_total') };
}

export { sleep };
