/** Time series of a device for charts: one call returns every bucket of a period, empty ones included. */
import { invalidInput } from '../../platform/errors';
import { checkPeriod, type Period, type Series } from './model';
import { deviceNotFound } from './readings.service';
import type { ReadingsStore } from './readings.store';
import type { SeriesStore } from './series.store';

export const MAX_BUCKETS = 1000;

export function createSeriesService(deps: {
  series: SeriesStore;
  readings: Pick<ReadingsStore, 'deviceExists'>;
}) {
  return {
    async series(deviceId: string, period: Period, buckets: number): Promise<Series> {
      checkPeriod(period);
      if (!Number.isInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS) {
        throw invalidInput('buckets', `must be an integer from 1 to ${MAX_BUCKETS}`);
      }
      let { start, end } = period;
      if (!start || !end) {
        const extent = await deps.series.extent(deviceId);
        if (!extent) {
          if (!(await deps.readings.deviceExists(deviceId))) throw deviceNotFound(deviceId);
          return { period: null, buckets: [] };
        }
        start ??= extent.first;
        end ??= extent.last;
        // An open side beyond the readings leaves no period to cut.
        if (start.getTime() > end.getTime()) return { period: null, buckets: [] };
      } else if (!(await deps.readings.deviceExists(deviceId))) {
        throw deviceNotFound(deviceId);
      }
      return { period: { start, end }, buckets: await deps.series.buckets(deviceId, start, end, buckets) };
    },
  };
}

export type SeriesService = ReturnType<typeof createSeriesService>;
