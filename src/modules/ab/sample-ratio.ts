/**
 * Sample ratios per experiment, from assignment counts: devices per option with shares, and a
 * sample-ratio-mismatch (SRM) check. Expected counts follow the weights each device entered under:
 * n_v devices in deck version v expect n_v * w_v,o / W_v of option o, summed over versions. Decks make
 * counts exact by construction, so a flagged SRM means rows were lost or written outside the deck.
 * Within the first deck a rare option can come first, far from its share; the chi-square approximation
 * needs every expected count >= 5, so a mismatch is only flagged once the test is valid ("testable").
 */
import { chiSquareGoodnessOfFit } from '../../stats/chisquare';
import type { CountRow, VersionRow } from './experiments.store';
import type { Experiment, OptionValue } from './model';

/** SRM is flagged below this p-value (the usual threshold for a sample ratio mismatch alarm). */
export const SRM_ALPHA = 0.001;
/** The chi-square approximation's usual validity condition: every expected count at least this. */
export const SRM_MIN_EXPECTED = 5;

export interface OptionStats {
  value: OptionValue;
  /** Current weight. */
  weight: number;
  devices: number;
  /** devices / total, or null when the experiment has no devices. */
  share: number | null;
  expected: number;
}

export interface ExperimentStats {
  name: string;
  status: 'running' | 'stopped';
  startedAt: Date;
  stoppedAt: Date | null;
  version: number;
  devices: number;
  options: OptionStats[];
  srm: { chiSquare: number; df: number; pValue: number; testable: boolean; mismatch: boolean };
}

export function experimentStats(e: Experiment, versions: VersionRow[], counts: CountRow[]): ExperimentStats {
  const k = e.values.length;
  const observed = new Array<number>(k).fill(0);
  const expected = new Array<number>(k).fill(0);
  const perVersion = new Map<number, number>();
  for (const c of counts) {
    if (c.experimentId !== e.id) continue;
    observed[c.option]! += c.devices;
    perVersion.set(c.version, (perVersion.get(c.version) ?? 0) + c.devices);
  }
  for (const v of versions) {
    const n = v.experimentId === e.id ? (perVersion.get(v.version) ?? 0) : 0;
    if (n === 0) continue;
    const total = v.weights.reduce((s, w) => s + w, 0);
    v.weights.forEach((w, o) => {
      expected[o]! += (n * w) / total;
    });
  }
  const devices = observed.reduce((s, x) => s + x, 0);
  // With no devices the expected counts are all 0; the test then has nothing to reject (p = 1).
  const test = chiSquareGoodnessOfFit(observed, devices > 0 ? expected : e.weights);
  const testable = devices > 0 && expected.every((x) => x >= SRM_MIN_EXPECTED);
  return {
    name: e.name,
    status: e.stoppedAt ? 'stopped' : 'running',
    startedAt: e.startedAt,
    stoppedAt: e.stoppedAt,
    version: e.version,
    devices,
    options: e.values.map((value, o) => ({
      value,
      weight: e.weights[o]!,
      devices: observed[o]!,
      share: devices > 0 ? observed[o]! / devices : null,
      expected: expected[o]!,
    })),
    srm: {
      chiSquare: test.statistic,
      df: test.df,
      pValue: test.p,
      testable,
      mismatch: testable && test.p < SRM_ALPHA,
    },
  };
}

export type SrmVerdict = 'too_few_devices' | 'no_mismatch' | 'mismatch';

/**
 * The one reading of the SRM check that the stats page, its JSON and the dashboard all show. Below the
 * test's validity condition (every expected count >= SRM_MIN_EXPECTED, so never with 0 devices) it says
 * "too few devices to test" and claims nothing; with 0 devices there is no p-value to show at all.
 */
export function srmVerdict(s: Pick<ExperimentStats, 'devices' | 'srm'>): {
  verdict: SrmVerdict;
  summary: string;
} {
  if (s.devices === 0) return { verdict: 'too_few_devices', summary: 'too few devices to test (none yet)' };
  const p = `p = ${s.srm.pValue.toPrecision(3)}`;
  if (!s.srm.testable) return { verdict: 'too_few_devices', summary: `${p} (too few devices to test)` };
  if (s.srm.mismatch) return { verdict: 'mismatch', summary: `${p} — sample ratio mismatch` };
  return { verdict: 'no_mismatch', summary: `${p}, no sample ratio mismatch` };
}

/** A share as the page shows it: percent with one decimal ("33.3%"), or an em dash with no devices. */
export function formatShare(share: number | null): string {
  return share === null ? '—' : `${(Math.round(share * 1000) / 10).toFixed(1)}%`;
}
