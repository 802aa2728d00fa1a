/** Shapes of the latency module's answers, as the dashboard reads them (src/modules/latency/api.schemas.ts). */

export type State = 'created' | 'running' | 'paused' | 'completed' | 'stopped';

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
}

export interface SecondPoint {
  second: number;
  timestamp: string;
  rps: number;
  latency: LatencySummary;
}

export interface Result extends Experiment {
  series: SecondPoint[];
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
}

export interface Group {
  id: string;
  name: string;
  state: State;
}

export interface GroupStats extends Omit<LiveStats, 'name' | 'users' | 'rate'> {
  experiments_stats: Record<string, LiveStats>;
}
