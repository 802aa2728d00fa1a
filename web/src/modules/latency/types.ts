/** Names for the latency module's answers, taken from the generated API types (../../api.gen.ts). */
import type {
  LatencyExperimentStatsResponse,
  LatencyGroupStatsResponse,
  LatencyListExperimentsResponse,
  LatencyListGroupsResponse,
  LatencyResultExperimentResponse,
} from '../../api.gen';

export type Experiment = LatencyListExperimentsResponse[number];
export type State = Experiment['state'];
export type Profile = Experiment['settings']['load_profiles'][number];
export type Check = NonNullable<Experiment['summary']['thresholds']>['checks'][number];

export type Result = LatencyResultExperimentResponse;
/** One part of an experiment's load, run by one worker process. */
export type Segment = Result['segments'][number];
/** GET /result_experiment series points and the stream's `second` events. */
export type SecondPoint = Result['series'][number];
/** A capacity experiment's search: steps so far and the answer. */
export type CapacityRecord = NonNullable<Result['capacity']>;
/** One step of a capacity search: a rate tried and whether the SLO held over its window. */
export type CapacityStep = CapacityRecord['steps'][number];

/** GET /experiment_stats. */
export type LiveStats = LatencyExperimentStatsResponse;
export type Group = LatencyListGroupsResponse[number];
export type GroupStats = LatencyGroupStatsResponse;
