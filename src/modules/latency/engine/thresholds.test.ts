import { describe, expect, it } from 'vitest';
import { evaluateThresholds } from './thresholds';

describe('thresholds', () => {
  const base = {
    requests: 100,
    successRate: 99,
    errorRate: 0.5,
    latency: { count: 99, min: 1, mean: 12, max: 300, p50: 10, p90: 20, p99: 250, p999: 300 },
  };

  it('passes when every limit holds', () => {
    const report = evaluateThresholds({ p50_ms: 10, p99_ms: 300, success_rate: 99, error_rate: 1 }, base);
    expect(report.passed).toBe(true);
    expect(report.checks.map((c) => [c.name, c.actual, c.passed])).toEqual([
      ['p50_ms', 10, true],
      ['p99_ms', 250, true],
      ['success_rate', 99, true],
      ['error_rate', 0.5, true],
    ]);
  });

  it('fails when any limit is broken', () => {
    const report = evaluateThresholds({ p90_ms: 15, mean_ms: 20 }, base);
    expect(report.passed).toBe(false);
    expect(report.checks).toEqual([
      { name: 'p90_ms', limit: 15, actual: 20, passed: false },
      { name: 'mean_ms', limit: 20, actual: 12, passed: true },
    ]);
  });

  it('fails a latency limit when nothing was measured', () => {
    const empty = { ...base, requests: 0, latency: { ...base.latency, count: 0 } };
    expect(evaluateThresholds({ p99_ms: 1000 }, empty)).toEqual({
      passed: false,
      checks: [{ name: 'p99_ms', limit: 1000, actual: null, passed: false }],
    });
  });
});
