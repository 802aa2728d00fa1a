/** Shapes of the latency module's answers, as the dashboard reads them (src/modules/latency/api.schemas.ts). */

export type State = 'created' | 'running' | 'paused' | 'completed' | 'stopped' | 'failed';

export interface Profile {
  users: number;
  duration_seconds: number;
  interval_seconds: number;
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface Check {
  name: string;
  limit: number;
  actual: number | null;
  passed: boolean;
}

export interface Experiment {
  id: string;
  name: string;
  settings: {
    host: string;
    port: number;
    scheme: string;
    path: string;
    method: string;
    model: string;
    load_profiles: Profile[];
    segments: number;
  };
  state: State;
  current_profile_index: number;
  created_at: string;
  summary: {
    requests: number;
    rps: number;
    success_rate: number | null;
    latency: LatencySummary;
    thresholds: { passed: boolean; checks: Check[] } | null;
  };
  passed: boolean | null;
  /** Why it ended `failed` (an aborting threshold). */
  verdict: string | null;
}

/** One part of an experiment's load, run by one worker process. */
export interface Segment {
  index: number;
  worker: string | null;
  state: 'pending' | 'running' | 'done';
  current_profile_index: number;
  requests: number;
  rps: number;
  p50: number | null;
  p99: number | null;
  run_attempts: number;
}

export interface SecondPoint {
  second: number;
  timestamp: string;
  rps: number;
  latency: LatencySummary;
}

export interface Result extends Experiment {
  series: SecondPoint[];
  segments: Segment[];
}

/** GET /experiment_stats and each member of GET /group_stats. */
export interface LiveStats {
  name: string;
  state: State;
  users: number;
  rate: number;
  total_requests: number;
  success_rate: number | null;
  average_latency: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  /** experiment_stats only. */
  segments?: Segment[];
}

export interface Group {
  id: string;
  name: string;
  state: State;
}

/** `rate`: requests per second of all running members over the last second. */
export interface GroupStats extends Omit<LiveStats, 'name' | 'users'> {
  experiments_stats: Record<string, LiveStats>;
}
