// Descriptive statistics: exact median/quantiles and mergeable running moments.
// Pure functions, no I/O. Inputs are ArrayLike so callers can pass plain arrays or typed arrays.

export interface Summary {
  count: number;
  min: number;
  max: number;
  sum: number;
  median: number;
  mean: number;
}

/** Running moments: `m2` is the sum of squared deviations from `mean` (Welford). */
export interface Moments {
  n: number;
  mean: number;
  m2: number;
}

/** Numeric ascending copy; NaN is rejected because it has no rank and would silently corrupt order statistics. */
function sortedCopy(values: ArrayLike<number>, fn: string): Float64Array {
  if (values.length === 0) throw new RangeError(`${fn}: empty input`);
  const sorted = Float64Array.from(values);
  for (let i = 0; i < sorted.length; i++) {
    if (Number.isNaN(sorted[i])) throw new RangeError(`${fn}: NaN at index ${i}`);
  }
  // Float64Array#sort is numeric (unlike Array#sort, which compares as strings).
  return sorted.sort();
}

function medianOfSorted(sorted: ArrayLike<number>): number {
  const n = sorted.length;
  const mid = n >>> 1;
  if (n % 2 === 1) return sorted[mid]!;
  // Halving first cannot overflow (e.g. two values near Number.MAX_VALUE) and equals (a + b) / 2 otherwise.
  return sorted[mid - 1]! / 2 + sorted[mid]! / 2;
}

/** Exact median; the mean of the two middle values for an even count. Does not mutate `values`. */
export function median(values: ArrayLike<number>): number {
  return medianOfSorted(sortedCopy(values, 'median'));
}

/**
 * Quantile of already-sorted (ascending) data by linear interpolation between order statistics:
 * Hyndman & Fan type 7, the default of R's `quantile` and numpy's `quantile`. `q` is in [0, 1].
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile: empty input');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const below = sorted[lo]!;
  const fraction = h - lo;
  // Return the order statistic itself when no interpolation is needed, so ±Infinity does not become NaN.
  if (fraction === 0) return below;
  const above = sorted[lo + 1]!;
  return below === above ? below : below + (above - below) * fraction;
}

/** count, min, max, sum, median and mean in one sort. Throws RangeError on empty input or NaN. */
export function summarize(values: ArrayLike<number>): Summary {
  const sorted = sortedCopy(values, 'summarize');
  const count = sorted.length;
  // Neumaier-compensated sum: telemetry sums over many rows otherwise drift in the last digits.
  let sum = 0;
  let compensation = 0;
  for (let i = 0; i < count; i++) {
    const x = sorted[i]!;
    const t = sum + x;
    compensation += Math.abs(sum) >= Math.abs(x) ? sum - t + x : x - t + sum;
    sum = t;
  }
  // Skip the correction when the sum is infinite: it would be NaN (Infinity - Infinity).
  if (Number.isFinite(sum)) sum += compensation;
  return {
    count,
    min: sorted[0]!,
    max: sorted[count - 1]!,
    sum,
    median: medianOfSorted(sorted),
    mean: sum / count,
  };
}

export function emptyMoments(): Moments {
  return { n: 0, mean: 0, m2: 0 };
}

/** Welford's update. Returns a new object and leaves `m` unchanged. */
export function addValue(m: Moments, x: number): Moments {
  const n = m.n + 1;
  const delta = x - m.mean;
  const mean = m.mean + delta / n;
  return { n, mean, m2: m.m2 + delta * (x - mean) };
}

/** Chan et al.'s parallel combination: moments of the union of two disjoint samples. Returns a new object. */
export function mergeMoments(a: Moments, b: Moments): Moments {
  if (a.n === 0) return { ...b };
  if (b.n === 0) return { ...a };
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  return {
    n,
    mean: a.mean + (delta * b.n) / n,
    m2: a.m2 + b.m2 + ((delta * delta * a.n) / n) * b.n,
  };
}

/** Unbiased sample variance m2 / (n - 1); NaN when n < 2 (undefined, not zero). */
export function sampleVariance(m: Moments): number {
  return m.n < 2 ? Number.NaN : m.m2 / (m.n - 1);
}

export function momentsOf(values: ArrayLike<number>): Moments {
  // Same recurrence as addValue, without allocating an object per value.
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    n += 1;
    const delta = x - mean;
    mean += delta / n;
    m2 += delta * (x - mean);
  }
  return { n, mean, m2 };
}
