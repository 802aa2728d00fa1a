/**
 * `telelab load --baseline summary.json`: the run just made against a baseline run, the summary that
 * `telelab load --json` printed (its `histogram` field holds the HDR histogram). Loaded by load.ts
 * only when the flag is given.
 */
import { readFile } from 'node:fs/promises';
import { decodeHistogram, type LatencyHistogram } from '../../../stats/histogram';
import { type ComparedRun, type Comparison, compareRuns, DEFAULT_TOLERANCE } from '../compare';

/** Reads a baseline summary; throws an Error whose message says what is wrong and what to do. */
export async function readBaseline(path: string): Promise<ComparedRun> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`--baseline: cannot read ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`--baseline: ${path} is not JSON; give the output of \`telelab load --json\``);
  }
  const o = (json ?? {}) as Record<string, unknown>;
  if (typeof o.histogram !== 'string')
    throw new Error(
      `--baseline: ${path} has no "histogram"; record the baseline with \`telelab load --json > ${path}\``,
    );
  const count = (name: string) => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      throw new Error(`--baseline: ${path}: "${name}" must be an integer >= 0`);
    return v;
  };
  let histogram: LatencyHistogram;
  try {
    histogram = decodeHistogram(o.histogram);
  } catch {
    throw new Error(`--baseline: ${path}: "histogram" is not an encoded HDR histogram`);
  }
  if (histogram.totalCount === 0)
    throw new Error(`--baseline: ${path} measured no latency (no request was answered)`);
  return { histogram, requests: count('requests'), successes: count('successes') };
}

/** The candidate (this run) against the baseline, with a tolerance in percent (default 10). */
export function compareWithBaseline(
  baseline: ComparedRun,
  candidate: ComparedRun,
  tolerancePct = DEFAULT_TOLERANCE.tolerance_pct,
): Comparison | null {
  if (candidate.histogram.totalCount === 0) return null;
  return compareRuns(baseline, candidate, { ...DEFAULT_TOLERANCE, tolerance_pct: tolerancePct });
}

export function formatComparison(c: Comparison): string {
  const rows = c.percentiles.map(
    (p) =>
      `p${String(p.percentile).padEnd(5)} ${String(p.baseline_ms).padStart(10)} ${String(p.candidate_ms).padStart(10)} ` +
      `${`${p.diff_ms > 0 ? '+' : ''}${p.diff_ms}`.padStart(10)} ` +
      `${p.diff_pct === null ? '-'.padStart(8) : `${p.diff_pct > 0 ? '+' : ''}${p.diff_pct} %`.padStart(8)}  ` +
      `${p.significant ? 'significant' : ''}`,
  );
  const mw = c.mann_whitney;
  const t = c.tolerance;
  return [
    '',
    'baseline comparison (latency ms)',
    `       ${'baseline'.padStart(10)} ${'candidate'.padStart(10)} ${'diff'.padStart(10)} ${'diff %'.padStart(8)}`,
    ...rows,
    `failure rate  ${c.baseline.failure_rate} % -> ${c.candidate.failure_rate} %`,
    `Mann–Whitney U: P(candidate slower) = ${mw.auc}, z = ${mw.z}, p(worse) = ${mw.p_worse}, p(better) = ${mw.p_better}`,
    `verdict: ${c.verdict.toUpperCase()}  (tolerance ${t.tolerance_pct} % and ${t.tolerance_ms} ms, ` +
      `failures ${t.failure_pp} pp, alpha ${t.alpha})`,
    ...c.reasons.map((r) => `  ${r}`),
    '',
  ].join('\n');
}
