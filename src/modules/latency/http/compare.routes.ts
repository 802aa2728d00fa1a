/** `GET /compare_experiments?baseline=&candidate=`: a candidate experiment against a baseline one. */
import { Type } from 'typebox';
import { problemResponses } from '../../../platform/http/problems';
import type { App } from '../../../platform/http/server';
import { type CompareService, DEFAULT_TOLERANCE } from '../compare';
import { docOf, type RouteScope } from './experiments.routes';
import { LatencyOut } from './response-schemas';

const Id = (description: string) => Type.String({ minLength: 1, maxLength: 64, description });

export const CompareQuery = Type.Object({
  baseline: Id('Experiment id of the baseline'),
  candidate: Id('Experiment id of the candidate'),
  tolerance_pct: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 1000,
      description: 'Percent change of a percentile that counts (10)',
    }),
  ),
  tolerance_ms: Type.Optional(
    Type.Number({ minimum: 0, maximum: 60_000, description: 'Smallest change in ms that counts (1)' }),
  ),
  failure_pp: Type.Optional(
    Type.Number({ minimum: 0, maximum: 100, description: 'Failure-rate change in percentage points (1)' }),
  ),
  alpha: Type.Optional(
    Type.Number({ exclusiveMinimum: 0, maximum: 0.5, description: 'Significance level of the tests (0.01)' }),
  ),
});

const Verdict = Type.Union([Type.Literal('worse'), Type.Literal('better'), Type.Literal('same')]);
const Interval = Type.Tuple([Type.Number(), Type.Number()]);
const Side = Type.Object({
  requests: Type.Integer(),
  successes: Type.Integer(),
  failure_rate: Type.Number({ description: 'Percent of requests without a success status' }),
  latency: LatencyOut,
});

export const ComparisonOut = Type.Object({
  baseline_id: Type.String(),
  candidate_id: Type.String(),
  baseline_state: Type.String(),
  candidate_state: Type.String(),
  baseline: Side,
  candidate: Side,
  percentiles: Type.Array(
    Type.Object({
      percentile: Type.Number(),
      baseline_ms: Type.Number(),
      candidate_ms: Type.Number(),
      diff_ms: Type.Number(),
      diff_pct: Type.Union([Type.Number(), Type.Null()]),
      baseline_ci95_ms: Interval,
      candidate_ci95_ms: Interval,
      significant: Type.Boolean({ description: 'The two 95 % intervals do not overlap' }),
      change: Verdict,
    }),
  ),
  mann_whitney: Type.Object({
    u: Type.Number(),
    auc: Type.Number({ description: 'P(a candidate request is slower than a baseline one) + ties / 2' }),
    z: Type.Number(),
    p_value: Type.Number({ description: 'Two-sided' }),
    p_worse: Type.Number({ description: 'One-sided: the candidate is slower' }),
    p_better: Type.Number({ description: 'One-sided: the candidate is faster' }),
  }),
  failures: Type.Object({
    diff_pp: Type.Number(),
    p_worse: Type.Number(),
    p_better: Type.Number(),
    change: Verdict,
  }),
  tolerance: Type.Object({
    tolerance_pct: Type.Number(),
    tolerance_ms: Type.Number(),
    failure_pp: Type.Number(),
    alpha: Type.Number(),
  }),
  verdict: Verdict,
  reasons: Type.Array(Type.String()),
});

export function compareRoutes(app: App, service: CompareService, scope: RouteScope): void {
  app.get(
    '/compare_experiments',
    {
      schema: {
        ...docOf(scope, 'latencyCompareExperiments'),
        summary: 'Compare a candidate experiment with a baseline: percentiles, significance, verdict',
        description:
          'Per-percentile differences with 95 % distribution-free intervals, a Mann–Whitney U test on the ' +
          'two HDR histograms (tie-corrected), a two-proportion test of the failure rates, and a verdict: ' +
          '`worse` when the candidate is significantly slower (p < alpha) and p50, p90 or p99 rose beyond ' +
          'the tolerance, or its failure rate rose beyond `failure_pp`. 404: an unknown id; 409: an ' +
          'experiment that has measured nothing yet.',
        querystring: CompareQuery,
        response: { 200: ComparisonOut, ...problemResponses(400, 404, 409) },
      },
    },
    async (req) => {
      const { baseline, candidate, ...t } = req.query;
      return service.compareExperiments(baseline, candidate, {
        tolerance_pct: t.tolerance_pct ?? DEFAULT_TOLERANCE.tolerance_pct,
        tolerance_ms: t.tolerance_ms ?? DEFAULT_TOLERANCE.tolerance_ms,
        failure_pp: t.failure_pp ?? DEFAULT_TOLERANCE.failure_pp,
        alpha: t.alpha ?? DEFAULT_TOLERANCE.alpha,
      });
    },
  );
}
