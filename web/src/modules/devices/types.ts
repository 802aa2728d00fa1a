/** Names for the devices module's answers, taken from the generated API types (../../api.gen.ts). */
import type {
  GetDeviceAggregatesResponse,
  GetDeviceSeriesResponse,
  ListDevicesResponse,
  ListStoredAggregatesResponse,
} from '../../api.gen';

export type {
  GetRecalculationTaskResponse as Task,
  ListDevicesResponse as DeviceList,
  ListStoredAggregatesResponse as StoredAggregatesList,
  RecalculateDeviceAggregatesResponse as StartedTask,
} from '../../api.gen';

/** GET /devices/{id}/data and /data/all. */
export type Aggregates = GetDeviceAggregatesResponse;
/** One quantity's statistics (an axis, or the sum of the three). */
export type Stat = Aggregates['axes']['x'];
export type Series = GetDeviceSeriesResponse;
export type SeriesBucket = Series['buckets'][number];
export type DeviceRow = ListDevicesResponse['items'][number];
export type StoredAggregates = ListStoredAggregatesResponse['items'][number];
