/**
 * Value buckets of the median index: a sorted list of thresholds splits the float8 line into buckets,
 * bucket i holding the values v with thresholds[i-1] <= v < thresholds[i] (bucket 0: below the first,
 * the last: from the last threshold up). JavaScript and PostgreSQL's `width_bucket(v, thresholds)`
 * assign a value to the same bucket (both compare IEEE doubles; -0 = 0).
 *
 * Thresholds are the device's quantiles when the layout is built, so buckets hold about equally many
 * readings. A value that fills more than a bucket on its own (ties: a sensor that reports 0 most of the
 * time) gets a bucket [v, nextUp(v)) that can only ever hold v: a median that falls in it is v, with no
 * need to read the values.
 */

/** The smallest double greater than v (v finite). */
export function nextUp(v: number): number {
  if (v === 0) return Number.MIN_VALUE;
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, v);
  const bits = buf.getBigUint64(0);
  buf.setBigUint64(0, v > 0 ? bits + 1n : bits - 1n);
  return buf.getFloat64(0);
}

/**
 * Thresholds from quantiles (sorted ascending, as percentile_disc returns them): each distinct
 * quantile starts a bucket, and a value seen as two quantiles or more (it fills a bucket alone) gets
 * a bucket of its own by also starting one at nextUp(value).
 */
export function thresholdsFrom(quantiles: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < quantiles.length; i++) {
    const q = quantiles[i]!;
    const last = out[out.length - 1];
    if (last === undefined || q > last) out.push(q);
    if (i > 0 && quantiles[i - 1] === q) {
      const up = nextUp(q);
      if (out[out.length - 1]! < up) out.push(up);
    }
  }
  return out;
}

/** The bucket of v: how many thresholds are <= v (binary search). */
export function bucketOf(thresholds: readonly number[], v: number): number {
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (thresholds[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * bucketOf for many values against the same thresholds, ~5× faster: a guide over the thresholds' range
 * (one cell of equal width per threshold) gives each cell the buckets its values can fall in, so a value
 * needs a search among a few thresholds instead of all. Exact whatever the rounding: the cell's range
 * is checked against the thresholds, and a value outside it falls back to the full search.
 */
export function bucketFinder(thresholds: readonly number[]): (v: number) => number {
  const n = thresholds.length;
  const full = (v: number) => bucketOf(thresholds, v);
  if (n < 16) return full;
  const lo = thresholds[0]!;
  const scale = n / (thresholds[n - 1]! - lo);
  if (!(Number.isFinite(scale) && scale > 0)) return full;
  // first[c]: the bucket of cell c's lower end; a value in cell c has a bucket in [first[c], first[c + 1]].
  const first = new Int32Array(n + 1);
  for (let c = 0; c <= n; c++) first[c] = bucketOf(thresholds, lo + c / scale);
  return (v) => {
    const c = Math.floor((v - lo) * scale);
    if (!(c >= 0 && c < n)) return full(v);
    let a = first[c]!;
    let b = first[c + 1]!;
    // bucketOf(v) is in [a, b] when every threshold before a is <= v and the one at b is > v.
    if ((a > 0 && thresholds[a - 1]! > v) || (b < n && thresholds[b]! <= v)) return full(v);
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (thresholds[mid]! <= v) a = mid + 1;
      else b = mid;
    }
    return a;
  };
}

/** The one value bucket b can hold, when it can hold only one; else null. */
export function singleValue(thresholds: readonly number[], b: number): number | null {
  if (b === 0 || b >= thresholds.length) return null;
  const lo = thresholds[b - 1]!;
  return thresholds[b] === nextUp(lo) ? lo : null;
}

/**
 * Where rank r (0-based) falls in buckets with these counts: the bucket and the rank within it.
 * The caller guarantees 0 <= r < sum(counts).
 */
export function locateRank(counts: ArrayLike<number>, r: number): { bucket: number; offset: number } {
  let seen = 0;
  for (let b = 0; b < counts.length; b++) {
    const n = counts[b]!;
    if (r < seen + n) return { bucket: b, offset: r - seen };
    seen += n;
  }
  throw new Error(`rank ${r} is beyond the ${seen} counted values`);
}
