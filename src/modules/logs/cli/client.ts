import { randomUUID } from 'node:crypto';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { Random } from '../../../stats/random';
import { generateInvalidLine, generateLogLine } from '../log-traffic';

/**
 * The client simulator (`telelab log-client`): N concurrent loops ("threads") POST generated access-log lines to
 * `<target>/api/data`, each sleeping a random 0..delayMs between its own requests and appending
 * `<ISO time> <JSON-quoted line> -> <status>` to `<logDir>/<short id>.log`. The line is JSON-quoted
 * because invalid lines may hold tabs or control characters that would break one-line-per-request.
 */

export interface LogClientOptions {
  /** Base URL of the API, e.g. http://127.0.0.1:8000 (a path prefix is kept). */
  target: string;
  threads: number;
  /** Upper bound of the random pause between one thread's requests, in ms. */
  delayMs: number;
  /** Total requests across all threads; unbounded when neither count nor durationMs is set. */
  count?: number;
  durationMs?: number;
  /** Share of deliberately malformed lines, 0..1. */
  invalidRatio: number;
  logDir: string;
  signal?: AbortSignal;
  onProgress?: (progress: LogClientProgress) => void;
  /** How often onProgress is called, in ms (default 1000). */
  progressIntervalMs?: number;
  rng?: Random;
  /** Per-request timeout in ms (default 10 000). */
  timeoutMs?: number;
}

export interface LogClientProgress {
  sent: number;
  byStatus: Record<string, number>;
  errors: number;
  elapsedMs: number;
  ratePerSec: number;
}

export interface LogClientResult {
  /** Requests attempted: answered ones plus transport errors. */
  sent: number;
  /** Of `sent`, how many carried a deliberately invalid line. */
  invalidSent: number;
  /** Answered requests by HTTP status. */
  byStatus: Record<string, number>;
  /** Requests that got no HTTP answer (refused, reset, timeout), by error code in errorsByCode. */
  errors: number;
  errorsByCode: Record<string, number>;
  /** Answers that contradict the line: a valid line answered 4xx, or an invalid one answered 2xx. */
  unexpected: number;
  ratePerSec: number;
  durationMs: number;
  /** One log file per thread. */
  files: string[];
}

export async function runLogClient(opts: LogClientOptions): Promise<LogClientResult> {
  validate(opts);
  const rng = opts.rng ?? Math.random;
  const base = new URL(opts.target);
  const path = `${base.pathname.replace(/\/+$/, '')}/api/data`;
  await mkdir(opts.logDir, { recursive: true });

  const started = performance.now();
  const deadline = opts.durationMs === undefined ? Number.POSITIVE_INFINITY : started + opts.durationMs;
  const stats = { sent: 0, invalidSent: 0, errors: 0, unexpected: 0 };
  const byStatus: Record<string, number> = {};
  const errorsByCode: Record<string, number> = {};
  let claimed = 0;
  let failed = false;
  const stopped = () =>
    failed ||
    opts.signal?.aborted === true ||
    performance.now() >= deadline ||
    (opts.count !== undefined && claimed >= opts.count);

  const files = uniqueShortIds(opts.threads).map((id) => join(opts.logDir, `${id}.log`));
  // Opened up front so a bad log dir fails the run before any request is sent.
  const handles = await openAll(files);
  // One keep-alive connection per thread: each thread has at most one request in flight.
  const pool = new Pool(base.origin, {
    connections: opts.threads,
    headersTimeout: opts.timeoutMs ?? 10_000,
    bodyTimeout: opts.timeoutMs ?? 10_000,
  });
  const progress = (): LogClientProgress => {
    const elapsedMs = performance.now() - started;
    return {
      sent: stats.sent,
      byStatus: { ...byStatus },
      errors: stats.errors,
      elapsedMs,
      ratePerSec: rate(stats.sent, elapsedMs),
    };
  };
  const timer =
    opts.onProgress && setInterval(() => opts.onProgress?.(progress()), opts.progressIntervalMs ?? 1000);

  async function thread(out: FileHandle): Promise<void> {
    try {
      for (let i = 0; !stopped(); i++) {
        if (i > 0) await pause(rng, opts.delayMs, deadline, opts.signal);
        if (stopped()) break;
        claimed++;
        const invalid = rng() < opts.invalidRatio;
        const line = invalid ? generateInvalidLine(rng).line : generateLogLine(rng);
        const outcome = await post(pool, path, line);
        stats.sent++;
        if (invalid) stats.invalidSent++;
        if (typeof outcome === 'number') {
          byStatus[outcome] = (byStatus[outcome] ?? 0) + 1;
          const accepted = outcome >= 200 && outcome < 300;
          if (invalid ? accepted : outcome >= 400 && outcome < 500) stats.unexpected++;
        } else {
          stats.errors++;
          errorsByCode[outcome.code] = (errorsByCode[outcome.code] ?? 0) + 1;
        }
        const status = typeof outcome === 'number' ? outcome : `ERR ${outcome.code}`;
        await out.write(`${new Date().toISOString()} ${JSON.stringify(line)} -> ${status}\n`);
        // Without an answer there is no server pacing: don't spin against a dead target.
        if (typeof outcome !== 'number') await wait(ERROR_BACKOFF_MS, deadline, opts.signal);
      }
    } catch (err) {
      failed = true; // e.g. disk full: stop the other threads too rather than run on without logs
      throw err;
    } finally {
      await out.close();
    }
  }

  let results: PromiseSettledResult<void>[];
  try {
    results = await Promise.allSettled(handles.map(thread));
  } finally {
    if (timer) clearInterval(timer);
    await pool.close();
  }
  const failure = results.find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
  const durationMs = performance.now() - started;
  opts.onProgress?.(progress());
  return {
    ...stats,
    byStatus,
    errorsByCode,
    ratePerSec: rate(stats.sent, durationMs),
    durationMs: Math.round(durationMs),
    files,
  };
}

async function post(pool: Pool, path: string, line: string): Promise<number | { code: string }> {
  try {
    const res = await pool.request({
      path,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ log: line }),
    });
    // Drain the body so the keep-alive connection can be reused.
    await res.body.dump();
    return res.statusCode;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : 'UNKNOWN' };
  }
}

/** Random 0..maxMs pause between a thread's requests. */
function pause(rng: Random, maxMs: number, deadline: number, signal: AbortSignal | undefined): Promise<void> {
  return wait(Math.floor(rng() * (maxMs + 1)), deadline, signal);
}

/** Sleeps, cut short by the deadline or the abort signal. */
async function wait(ms: number, deadline: number, signal: AbortSignal | undefined): Promise<void> {
  const capped = Math.min(ms, deadline - performance.now());
  if (capped <= 0) return;
  await sleep(capped, undefined, { signal }).catch(() => undefined);
}

async function openAll(files: string[]): Promise<FileHandle[]> {
  const opened = await Promise.allSettled(files.map((file) => open(file, 'a')));
  const handles = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = opened.find((r) => r.status === 'rejected');
  if (failure) {
    await Promise.all(handles.map((h) => h.close()));
    throw failure.reason;
  }
  return handles;
}

/** First 8 characters of a uuid4, as the original simulator named its logs; collisions within one run are redrawn. */
function uniqueShortIds(n: number): string[] {
  const ids = new Set<string>();
  while (ids.size < n) ids.add(randomUUID().slice(0, 8));
  return [...ids];
}

const ERROR_BACKOFF_MS = 100;
const rate = (n: number, ms: number) => (ms > 0 ? Math.round((n / ms) * 1000 * 10) / 10 : 0);

function validate(opts: LogClientOptions): void {
  const problems: string[] = [];
  if (!Number.isInteger(opts.threads) || opts.threads < 1) problems.push('threads must be an integer >= 1');
  if (!Number.isFinite(opts.delayMs) || opts.delayMs < 0) problems.push('delayMs must be >= 0');
  if (opts.count !== undefined && (!Number.isInteger(opts.count) || opts.count < 0)) {
    problems.push('count must be an integer >= 0');
  }
  if (opts.durationMs !== undefined && !(opts.durationMs >= 0)) problems.push('durationMs must be >= 0');
  if (!(opts.invalidRatio >= 0 && opts.invalidRatio <= 1)) problems.push('invalidRatio must be within 0..1');
  let url: URL | undefined;
  try {
    url = new URL(opts.target);
  } catch {
    problems.push(`target ${JSON.stringify(opts.target)} is not a URL`);
  }
  if (url && url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push('target must be http:// or https://');
  }
  if (problems.length > 0) {
    // A plain error: the simulator is a client program, not a service (the CLI validates its flags first).
    throw new Error(`log client: ${problems.join('; ')}`);
  }
}
