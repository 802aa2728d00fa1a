/**
 * The settings of a capacity experiment (`model: "capacity"`): its SLO, checked like the CLI's `--slo`
 * (same metric names), the search's options with the CLI's defaults, and the caps, which bound the
 * highest rate tried and the longest the search can run. Each error names its field.
 */
import { invalidInput, unprocessable } from '../../platform/errors';
import { validateSlo } from './capacity';
import type { CapacitySearch, ExperimentSettings, ExperimentSpec } from './model';
import type { Caps } from './settings';

const bad = (field: string, detail: string) => invalidInput(field, detail);

/** The CLI's defaults (capacity.ts); `max_rps` is also capped by LATENCY_MAX_RATE. */
export function defaultSearch(caps: Pick<Caps, 'maxRate'>): CapacitySearch {
  return {
    start_rps: 10,
    max_rps: Math.min(50_000, Math.floor(caps.maxRate)),
    window_seconds: 10,
    warmup_seconds: 2,
    precision: 0.05,
    attempts: 2,
    max_steps: 40,
  };
}

/**
 * Checks what only one kind of experiment may carry: profiles for the load models, an SLO and search
 * options for a capacity search. Returns the capacity part of the settings (empty for the others).
 */
export function capacitySettings(
  spec: ExperimentSpec,
  caps: Caps,
  at: string,
): Pick<ExperimentSettings, 'slo' | 'search'> {
  const field = (name: string) => `${at}${name}`;
  if (spec.model !== 'capacity') {
    if (!spec.load_profiles) throw bad(field('load_profiles'), 'required (unless model is "capacity")');
    if (spec.slo != null) throw bad(field('slo'), 'only with model "capacity" (a load test has thresholds)');
    if (spec.search != null) throw bad(field('search'), 'only with model "capacity"');
    return {};
  }
  if (spec.slo == null)
    throw bad(field('slo'), 'a capacity experiment needs an SLO, e.g. {"p99_ms": 100, "error_rate": 1}');
  const slo = validateSlo(spec.slo, field('slo'));
  if (spec.load_profiles !== undefined)
    throw bad(field('load_profiles'), 'a capacity experiment chooses its own rates; leave load_profiles out');
  if (spec.thresholds != null)
    throw bad(field('thresholds'), 'a capacity experiment is judged by its slo; leave thresholds out');
  if ((spec.segments ?? 1) !== 1)
    throw bad(
      field('segments'),
      'a capacity experiment runs as one segment (its steps are one sequence of rates, each judged on all its requests)',
    );
  const search = { ...defaultSearch(caps), ...(spec.search ?? {}) };
  if (search.max_rps < search.start_rps)
    throw bad(field('search.max_rps'), `must be >= start_rps (${search.start_rps})`);
  if (search.max_rps > caps.maxRate)
    throw unprocessable(
      'LATENCY_CAP_EXCEEDED',
      `${at}search.max_rps: ${search.max_rps}/s exceeds LATENCY_MAX_RATE (${caps.maxRate})`,
    );
  const longest = search.max_steps * (search.warmup_seconds + search.window_seconds);
  if (longest > caps.maxDurationSeconds)
    throw unprocessable(
      'LATENCY_CAP_EXCEEDED',
      `${at}search.max_steps: ${search.max_steps} steps of ${search.warmup_seconds + search.window_seconds} s ` +
        `(${longest} s) exceed LATENCY_MAX_DURATION_SECONDS (${caps.maxDurationSeconds})`,
    );
  return { slo, search };
}
