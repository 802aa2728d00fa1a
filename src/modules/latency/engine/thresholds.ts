import type { LoadSummary, ThresholdCheck, ThresholdReport, Thresholds } from './types';

export function evaluateThresholds(
  t: Thresholds,
  s: Pick<LoadSummary, 'requests' | 'latency' | 'successRate' | 'errorRate'>,
): ThresholdReport {
  const checks: ThresholdCheck[] = [];
  const hasLatency = s.latency.count > 0;
  const max = (name: keyof Thresholds, actual: number | null) => {
    const limit = t[name];
    if (limit !== undefined) checks.push({ name, limit, actual, passed: actual !== null && actual <= limit });
  };
  max('p50_ms', hasLatency ? s.latency.p50 : null);
  max('p90_ms', hasLatency ? s.latency.p90 : null);
  max('p99_ms', hasLatency ? s.latency.p99 : null);
  max('mean_ms', hasLatency ? s.latency.mean : null);
  if (t.success_rate !== undefined) {
    const actual = s.requests > 0 ? s.successRate : null;
    checks.push({
      name: 'success_rate',
      limit: t.success_rate,
      actual,
      passed: actual !== null && actual >= t.success_rate,
    });
  }
  max('error_rate', s.requests > 0 ? s.errorRate : null);
  return { passed: checks.every((c) => c.passed), checks };
}
