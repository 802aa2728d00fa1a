/**
 * Time series of a device for charts: one call returns every bucket of a period, empty ones included.
 *
 * A period of few readings is sorted in one statement (series.store.ts). One whose buckets hold many
 * readings on average (`indexMinPerBucket`, 4,096 by default) of a device with a median index is
 * answered from the rollups and the index instead: the aggregates of each bucket's own bounds, all
 * buckets in three statements and one snapshot (aggregates.store forPeriods), at a cost that does not
 * grow with the readings (sorting a year of one-per-second readings takes seconds). Both give the same
 * count, min, max and median; the mean is sum / count, equal within float rounding.
 */
import { invalidInput } from '../../platform/errors';
import type { AggregatesStore } from './aggregates.store';
import { type Aggregates, checkPeriod, type Period, type Series, type SeriesBucket } from './model';
import { deviceNotFound } from './readings.service';
import type { ReadingsStore } from './readings.store';
import type { Quantity } from './rollups.store';
import { bucketBounds, type SeriesStore } from './series.store';

export const MAX_BUCKETS = 1000;

/** A bucket's statistics from the aggregates of its bounds (null: no readings). */
function fromAggregates(bounds: { start: Date; end: Date }, a: Aggregates | null): SeriesBucket {
  if (!a) return { ...bounds, count: 0, stats: null };
  const stat = (q: Quantity) => ({
    min: a[q].min,
    max: a[q].max,
    mean: a[q].sum / a.count,
    median: a[q].median,
  });
  return {
    ...bounds,
    count: a.count,
    stats: { value: stat('value'), x: stat('x'), y: stat('y'), z: stat('z') },
  };
}

export function createSeriesService(deps: {
  series: SeriesStore;
  readings: Pick<ReadingsStore, 'deviceExists'>;
  aggregates: Pick<AggregatesStore, 'forPeriods'>;
  /** Average readings per bucket from which an indexed device's series is answered per bucket. */
  indexMinPerBucket?: number;
}) {
  const perBucket = deps.indexMinPerBucket ?? 4096;
  return {
    async series(deviceId: string, period: Period, buckets: number): Promise<Series> {
      checkPeriod(period);
      if (!Number.isInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS) {
        throw invalidInput('buckets', `must be an integer from 1 to ${MAX_BUCKETS}`);
      }
      const outline = await deps.series.outline(deviceId, period.start, period.end);
      if (!outline) {
        if (!(await deps.readings.deviceExists(deviceId))) throw deviceNotFound(deviceId);
        if (!period.start || !period.end) return { period: null, buckets: [] };
      }
      const start = period.start ?? outline!.first;
      const end = period.end ?? outline!.last;
      // An open side beyond the readings leaves no period to cut.
      if (start.getTime() > end.getTime()) return { period: null, buckets: [] };
      if (outline?.indexed && outline.count >= buckets * perBucket) {
        const bounds = bucketBounds(start, end, buckets);
        const aggregates = await deps.aggregates.forPeriods(deviceId, bounds);
        return { period: { start, end }, buckets: bounds.map((b, i) => fromAggregates(b, aggregates[i]!)) };
      }
      return { period: { start, end }, buckets: await deps.series.buckets(deviceId, start, end, buckets) };
    },
  };
}

export type SeriesService = ReturnType<typeof createSeriesService>;
