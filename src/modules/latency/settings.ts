/**
 * From what a client sent to the settings an experiment runs with: defaults, the checks a schema
 * cannot express (each error names its field), the per-experiment caps (422), and the engine's view.
 */
import { invalidInput, unprocessable } from '../../platform/errors';
import { capacitySettings } from './capacity.settings';
import {
  DEFAULT_TIMEOUT_MS,
  type LoadOptions,
  LoadOptionsError,
  type LoadStage,
  type LoadTarget,
  resolveTarget,
} from './engine';
import type { ExperimentSettings, ExperimentSpec } from './model';

export interface Caps {
  maxUsers: number;
  /** Requests per second (open model: users / interval_seconds). */
  maxRate: number;
  /** Sum of the profiles' duration_seconds. */
  maxDurationSeconds: number;
}

/** The original service's target path. */
export const DEFAULT_PATH = '/api/latency';

/** Headers the HTTP client manages itself; setting them would break or smuggle requests. */
const FORBIDDEN_HEADERS = new Set([
  'connection',
  'content-length',
  'expect',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const invalid = (field: string, detail: string) =>
  unprocessable('LATENCY_INVALID_SETTINGS', `${field}: ${detail}`);
const capExceeded = (field: string, detail: string) =>
  unprocessable('LATENCY_CAP_EXCEEDED', `${field}: ${detail}`);

/** `at` prefixes field names, e.g. `experiments[2].` inside a group. */
export function settingsFromSpec(spec: ExperimentSpec, caps: Caps, at = ''): ExperimentSettings {
  const capacity = capacitySettings(spec, caps, at);
  const settings: ExperimentSettings = {
    host: spec.host,
    port: spec.port,
    scheme: spec.scheme ?? 'http',
    path: spec.path ?? DEFAULT_PATH,
    method: (spec.method ?? 'GET').toUpperCase(),
    headers: spec.headers ?? {},
    body: spec.body ?? null,
    model: spec.model ?? 'closed',
    load_profiles: (spec.load_profiles ?? []).map((p) => ({
      users: p.users,
      duration_seconds: p.duration_seconds,
      interval_seconds: p.interval_seconds,
    })),
    thresholds: spec.thresholds ?? null,
    timeout_ms: spec.timeout_ms ?? DEFAULT_TIMEOUT_MS,
    success_statuses: spec.success_statuses ?? null,
    segments: spec.segments ?? 1,
    ...capacity,
  };
  for (const [name, value] of Object.entries(settings.headers)) {
    if (!TOKEN.test(name)) throw invalid(`${at}headers.${name}`, 'not a valid header name');
    if (FORBIDDEN_HEADERS.has(name.toLowerCase()))
      throw invalid(`${at}headers.${name}`, 'set by the client itself; not allowed');
    if (/[\r\n\0]/.test(value)) throw invalid(`${at}headers.${name}`, 'control characters are not allowed');
  }
  if (settings.body !== null && (settings.method === 'GET' || settings.method === 'HEAD')) {
    throw invalid(`${at}body`, `a ${settings.method} request has no body`);
  }
  checkAbort(settings, at);
  checkTarget(settings, at);
  checkCaps(settings, caps, at);
  return settings;
}

const LIMITS = ['p50_ms', 'p90_ms', 'p99_ms', 'mean_ms', 'success_rate', 'error_rate'] as const;

/** `abort` acts on a failed limit: without one it could never act (a 400, like a schema error). */
function checkAbort(s: ExperimentSettings, at: string): void {
  const t = s.thresholds;
  if (!t || (t.abort === undefined && t.abort_after_seconds === undefined)) return;
  if (!LIMITS.some((name) => t[name] !== undefined)) {
    const field = t.abort !== undefined ? 'abort' : 'abort_after_seconds';
    throw invalidInput(
      `${at}thresholds.${field}`,
      `needs at least one limit to act on (${LIMITS.join(', ')}), e.g. {"p99_ms": 200, "abort": true}`,
    );
  }
}

function checkTarget(s: ExperimentSettings, at: string): void {
  try {
    resolveTarget(loadTargetOf(s));
  } catch (e) {
    if (e instanceof LoadOptionsError) throw invalid(`${at}path`, e.message);
    throw e;
  }
}

export function checkCaps(s: ExperimentSettings, caps: Caps, at = ''): void {
  let total = 0;
  s.load_profiles.forEach((p, i) => {
    const field = `${at}load_profiles[${i}]`;
    if (p.users > caps.maxUsers)
      throw capExceeded(`${field}.users`, `${p.users} exceeds LATENCY_MAX_USERS (${caps.maxUsers})`);
    if (s.model === 'arrival-rate') {
      if (!(p.interval_seconds > 0))
        throw invalid(`${field}.interval_seconds`, 'must be > 0 in the arrival-rate model');
      const rate = p.users / p.interval_seconds;
      if (rate > caps.maxRate) {
        throw capExceeded(
          `${field}.users`,
          `rate ${rate}/s (users / interval_seconds) exceeds LATENCY_MAX_RATE (${caps.maxRate})`,
        );
      }
    }
    total += p.duration_seconds;
  });
  if (total > caps.maxDurationSeconds) {
    throw capExceeded(
      `${at}load_profiles`,
      `total duration_seconds ${total} exceeds LATENCY_MAX_DURATION_SECONDS (${caps.maxDurationSeconds})`,
    );
  }
}

/** Segments of an experiment (those made before segments existed have one). */
export const segmentCountOf = (s: Pick<ExperimentSettings, 'segments'>): number => s.segments ?? 1;

export function loadTargetOf(s: ExperimentSettings): LoadTarget {
  return {
    scheme: s.scheme,
    host: s.host,
    port: s.port,
    path: s.path,
    method: s.method,
    headers: s.headers,
    body: s.body,
  };
}

export const stagesOf = (s: ExperimentSettings): LoadStage[] =>
  s.load_profiles.map((p) => ({
    users: p.users,
    durationSeconds: p.duration_seconds,
    intervalSeconds: p.interval_seconds,
  }));

/** The engine options of an experiment (without the run's position and callbacks). */
export function loadOptionsOf(s: ExperimentSettings): LoadOptions {
  return {
    target: loadTargetOf(s),
    stages: stagesOf(s),
    // A capacity experiment runs its steps in the arrival-rate model (capacity.ts), not through this.
    model: s.model === 'capacity' ? 'arrival-rate' : s.model,
    timeoutMs: s.timeout_ms,
    successStatuses: s.success_statuses ?? undefined,
  };
}
