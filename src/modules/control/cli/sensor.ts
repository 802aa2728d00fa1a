// The sensor simulator: `instances` sensors, each sending `rps` readings per second to the controller.
//
// An open model: message j of instance i has a fixed send time t0 + phase_i + j / rps, whether or not earlier
// requests have been answered, so a slow controller sees the load the task promises instead of a politely
// reduced one. One timer per instance wakes every `tickMs` and sends every message that is due (no timer per
// request, which is what keeps 20 000+ req/s cheap). A send more than `lateThresholdMs` behind its slot is
// counted late; at most `maxInFlight` requests per instance are outstanding, the rest wait (and turn late).
import { Pool } from 'undici';
import { formatTaskDatetime } from '../windows';
import { MAX_SEED, type MeanSchedule, meanAt, payloadSource } from './sensor-schedule';

export interface SensorOptions {
  instances: number;
  /** Messages per second per instance. */
  rps: number;
  /** Controller base URL; readings go to `<target>/sensor-data`. */
  target: string;
  mean: number;
  std: number;
  /** 1..2^32-1; omitted = random (reported). */
  seed?: number;
  schedule?: MeanSchedule;
  /** Omitted = until `signal` aborts. */
  durationMs?: number;
  /** Milliseconds in the datetime. */
  ms?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: SensorProgress) => void;
  progressIntervalMs?: number;
  tickMs?: number;
  lateThresholdMs?: number;
  /** Outstanding requests per instance; default connections x pipelining, so a sent request is on the wire. */
  maxInFlight?: number;
  /** Keep-alive connections per instance, opened only when needed (default 64: 300 rps survives 200 ms replies). */
  connections?: number;
  /** Requests per connection at once (default 1). */
  pipelining?: number;
  /** After the last send, how long to wait for outstanding responses. */
  drainTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface SensorCounters {
  /** Messages whose send time has come. */
  scheduled: number;
  sent: number;
  /** 2xx responses. */
  ok: number;
  /** Responses with another status. */
  httpErrors: number;
  /** Requests that got no response (refused, reset, timeout). */
  errors: number;
  late: number;
  maxLagMs: number;
  inFlight: number;
  statusCounts: Record<string, number>;
  errorCodes: Record<string, number>;
}

export interface SensorProgress extends SensorCounters {
  elapsedMs: number;
  /** Sends per second since the previous progress report. */
  currentRps: number;
}

export interface SensorReport extends SensorCounters {
  seed: number;
  targetRps: number;
  /** Time spent sending (excludes the final drain). */
  elapsedMs: number;
  achievedRps: number;
  /** Scheduled but never sent (in-flight cap at the end of the run). */
  unsent: number;
  /** Still unanswered when the drain timed out. */
  abandoned: number;
}

function validate(o: SensorOptions): void {
  const positiveInt = (v: number) => Number.isSafeInteger(v) && v > 0;
  if (!positiveInt(o.instances)) throw new RangeError('instances must be a positive integer');
  if (!(o.rps > 0 && Number.isFinite(o.rps))) throw new RangeError('rps must be a positive number');
  if (!Number.isFinite(o.mean)) throw new RangeError('mean must be a finite number');
  if (!(o.std >= 0 && Number.isFinite(o.std))) throw new RangeError('std must be a finite number >= 0');
  if (o.seed !== undefined && !(positiveInt(o.seed) && o.seed <= MAX_SEED)) {
    throw new RangeError('seed must be an integer from 1 to 4294967295');
  }
  if (o.durationMs !== undefined && !(o.durationMs >= 0)) throw new RangeError('duration must be >= 0');
  const url = URL.canParse(o.target) ? new URL(o.target) : null;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new RangeError(`target must be an http(s) URL, got ${JSON.stringify(o.target)}`);
  }
}

/** Runs the sensors until `durationMs` passes or `signal` aborts; resolves with the totals. Never rejects on HTTP errors. */
export async function runSensors(opts: SensorOptions): Promise<SensorReport> {
  validate(opts);
  const tickMs = opts.tickMs ?? 10;
  const lateThresholdMs = opts.lateThresholdMs ?? tickMs + 15;
  const connections = opts.connections ?? 64;
  const pipelining = opts.pipelining ?? 1;
  // Beyond connections x pipelining undici would queue internally, hiding the wait from the late count.
  const maxInFlight = opts.maxInFlight ?? connections * pipelining;
  const seed = opts.seed ?? 1 + Math.floor(Math.random() * (MAX_SEED - 1));
  const url = new URL(opts.target);
  const path = `${url.pathname.replace(/\/+$/, '')}/sensor-data`;
  const headers = { 'content-type': 'application/json' };
  const periodMs = 1000 / opts.rps;
  const c: SensorCounters = {
    scheduled: 0,
    sent: 0,
    ok: 0,
    httpErrors: 0,
    errors: 0,
    late: 0,
    maxLagMs: 0,
    inFlight: 0,
    statusCounts: {},
    errorCodes: {},
  };
  const bump = (rec: Record<string, number>, key: string) => {
    rec[key] = (rec[key] ?? 0) + 1;
  };

  const start = performance.now();
  const wallStart = Date.now();
  // Messages of the whole run per instance (Infinity when unbounded).
  const perInstanceTotal = (phase: number) =>
    opts.durationMs === undefined
      ? Number.POSITIVE_INFINITY
      : Math.max(0, Math.ceil((opts.durationMs - phase) / periodMs));

  const instances = Array.from({ length: opts.instances }, (_, i) => {
    // Phases interleave the instances so the combined stream is evenly spread too.
    const phase = (i * periodMs) / opts.instances;
    return {
      phase,
      total: perInstanceTotal(phase),
      next: 0,
      inFlight: 0,
      payload: payloadSource(seed, i, opts.std),
      pool: new Pool(url.origin, {
        connections,
        pipelining,
        keepAliveTimeout: 10_000,
        headersTimeout: opts.requestTimeoutMs ?? 10_000,
        bodyTimeout: opts.requestTimeoutMs ?? 10_000,
      }),
      timer: null as NodeJS.Timeout | null,
    };
  });
  type Instance = (typeof instances)[number];

  let onIdle: (() => void) | null = null;
  // After a bounded run's end, messages held back by the in-flight cap go out as responses free room.
  let flushing = false;
  const finished = (inst: Instance) => {
    inst.inFlight--;
    c.inFlight--;
    if (flushing) tick(inst, inst.total);
    if (c.inFlight === 0) onIdle?.();
  };

  let secondCache = Number.NaN;
  let secondText = '';
  const datetimeAt = (wallMs: number) => {
    if (opts.ms) return formatTaskDatetime(new Date(wallMs), true);
    const sec = Math.floor(wallMs / 1000);
    if (sec !== secondCache) {
      secondCache = sec;
      secondText = formatTaskDatetime(new Date(sec * 1000));
    }
    return secondText;
  };

  /** Sends what is due for one instance; `upTo` overrides the clock at the end of a bounded run. */
  const tick = (inst: Instance, upTo?: number) => {
    const now = performance.now();
    const elapsed = now - start;
    const due = Math.min(
      inst.total,
      upTo ?? (elapsed < inst.phase ? 0 : Math.floor((elapsed - inst.phase) / periodMs) + 1),
    );
    while (inst.next < due && inst.inFlight < maxInFlight) {
      const slot = inst.phase + inst.next * periodMs;
      inst.next++;
      const lag = elapsed - slot;
      if (lag > lateThresholdMs) c.late++;
      if (lag > c.maxLagMs) c.maxLagMs = lag;
      // Stamp and mean follow the scheduled time, which is when the sensor "measured" the value.
      const mean = opts.schedule ? meanAt(opts.schedule, opts.mean, slot / 1000) : opts.mean;
      const body = `{"datetime":"${datetimeAt(wallStart + slot)}","payload":${inst.payload(mean)}}`;
      inst.inFlight++;
      c.inFlight++;
      c.sent++;
      inst.pool.request({ path, method: 'POST', headers, body }).then(
        (res) => {
          bump(c.statusCounts, String(res.statusCode));
          if (res.statusCode >= 200 && res.statusCode < 300) c.ok++;
          else c.httpErrors++;
          return res.body.dump().then(
            () => finished(inst),
            () => finished(inst),
          );
        },
        (err: { code?: string; name?: string }) => {
          c.errors++;
          bump(c.errorCodes, err.code ?? err.name ?? 'Error');
          finished(inst);
        },
      );
    }
  };

  const counters = (elapsedMs: number): SensorCounters => {
    let scheduled = 0;
    for (const inst of instances) {
      const due = elapsedMs < inst.phase ? 0 : Math.floor((elapsedMs - inst.phase) / periodMs) + 1;
      scheduled += Math.min(inst.total, due);
    }
    return { ...c, scheduled, statusCounts: { ...c.statusCounts }, errorCodes: { ...c.errorCodes } };
  };

  let lastSent = 0;
  let lastAt = start;
  const progressTimer = opts.onProgress
    ? setInterval(() => {
        const now = performance.now();
        const currentRps = ((c.sent - lastSent) * 1000) / (now - lastAt);
        lastSent = c.sent;
        lastAt = now;
        opts.onProgress?.({ ...counters(now - start), elapsedMs: now - start, currentRps });
      }, opts.progressIntervalMs ?? 1000)
    : null;

  await new Promise<void>((resolve) => {
    const stop = () => {
      clearTimeout(durationTimer);
      opts.signal?.removeEventListener('abort', stop);
      resolve();
    };
    const durationTimer = opts.durationMs === undefined ? undefined : setTimeout(stop, opts.durationMs);
    if (opts.signal?.aborted) return stop();
    opts.signal?.addEventListener('abort', stop);
    for (const inst of instances) {
      tick(inst);
      inst.timer = setInterval(() => tick(inst), tickMs);
    }
  });

  const stoppedAt = performance.now();
  const aborted = opts.signal?.aborted ?? false;
  // A bounded run sends all of its messages, even if the last timer fired a hair early or the cap held
  // some back; an aborted one stops at once.
  flushing = !aborted && opts.durationMs !== undefined;
  for (const inst of instances) {
    if (inst.timer) clearInterval(inst.timer);
    if (flushing) tick(inst, inst.total);
  }
  if (progressTimer) clearInterval(progressTimer);
  const elapsedMs = aborted || opts.durationMs === undefined ? stoppedAt - start : opts.durationMs;
  const scheduled =
    aborted || opts.durationMs === undefined
      ? counters(elapsedMs).scheduled
      : instances.reduce((s, i) => s + i.total, 0);

  if (c.inFlight > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, opts.drainTimeoutMs ?? 5000);
      onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  flushing = false;
  const abandoned = c.inFlight;
  // Snapshot before closing: destroying the pools fails the abandoned requests, which are not errors of
  // the target.
  const report: SensorReport = {
    ...c,
    statusCounts: { ...c.statusCounts },
    errorCodes: { ...c.errorCodes },
    inFlight: 0,
    scheduled,
    seed,
    targetRps: opts.instances * opts.rps,
    elapsedMs,
    achievedRps: elapsedMs > 0 ? (c.sent * 1000) / elapsedMs : 0,
    unsent: Math.max(0, scheduled - c.sent),
    abandoned,
  };
  await Promise.all(instances.map((inst) => (abandoned > 0 ? inst.pool.destroy() : inst.pool.close())));
  return report;
}
