/**
 * The one place that reads process.env. Every variable is declared here with its form, default and
 * description; `loadConfig` validates them all once at start and returns a frozen object.
 * The README's configuration table is printed from this list (`telelab config --markdown`).
 */

import { finiteNumber, integer } from './cli-kit';

type Parser<T> = { parse(raw: string): T; form: string };

const str: Parser<string> = { parse: (raw) => raw, form: 'text' };

/** The CLI's integer parser, but digits only: an environment file says 1000, never 1e3 or 0x3e8. */
const int = (min: number, max: number): Parser<number> => {
  const parse = integer(min, max);
  return {
    form: `integer ${min}..${max}`,
    parse(raw) {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error('not an integer');
      return parse(raw);
    },
  };
};

const num = (min: number, max: number): Parser<number> => ({
  form: `number ${min}..${max}`,
  parse(raw) {
    const n = finiteNumber(raw);
    if (n < min || n > max) throw new Error('out of range');
    return n;
  },
});

/** Strictly between 0 and 1 (a significance level of 0 or 1 would make every test meaningless). */
const probability: Parser<number> = {
  form: 'number strictly between 0 and 1',
  parse(raw) {
    const n = finiteNumber(raw);
    if (n <= 0 || n >= 1) throw new Error('not in (0, 1)');
    return n;
  },
};

const bool: Parser<boolean> = {
  form: 'true | false | 1 | 0',
  parse(raw) {
    const v = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    throw new Error('not a boolean');
  },
};

const oneOf = <T extends string>(...values: T[]): Parser<T> => ({
  form: values.join(' | '),
  parse(raw) {
    if (!(values as string[]).includes(raw)) throw new Error('not allowed');
    return raw as T;
  },
});

const postgresUrl: Parser<string> = {
  form: 'postgres://user@host:port/database',
  parse(raw) {
    const u = new URL(raw);
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error('wrong scheme');
    return raw;
  },
};

const host: Parser<string> = {
  form: 'host name or IP address',
  parse(raw) {
    if (!/^[A-Za-z0-9.:_-]+$/.test(raw)) throw new Error('bad host');
    return raw;
  },
};

const cron: Parser<string> = {
  form: "cron expression (5 fields, e.g. '*/15 * * * *'), or 'off'",
  parse(raw) {
    const v = raw.trim();
    if (v === '' || v === 'off') return '';
    if (v.split(/\s+/).length !== 5) throw new Error('not 5 fields');
    return v;
  },
};

interface VarSpec<T> {
  parser: Parser<T>;
  default: T | undefined;
  description: string;
  secret?: boolean;
}

const v = <T>(parser: Parser<T>, def: T | undefined, description: string, secret = false): VarSpec<T> => ({
  parser,
  default: def,
  description,
  secret,
});

export const configSpec = {
  PORT: v(int(0, 65535), 8000, 'HTTP port of the API and dashboard.'),
  HOST: v(host, '127.0.0.1', 'Interface the HTTP server listens on (0.0.0.0 for all).'),
  DATABASE_URL: v(
    postgresUrl,
    undefined,
    'PostgreSQL server to use. Unset: the embedded database (PGlite) under DATA_DIR.',
    true,
  ),
  DATA_DIR: v(str, './.telelab', 'Directory of the embedded database, its lock, and default output files.'),
  DB_POOL_SIZE: v(int(1, 200), 10, 'Connections in the PostgreSQL pool (ignored for PGlite).'),
  DB_STATEMENT_TIMEOUT_MS: v(int(0, 3_600_000), 30_000, 'Statement timeout on PostgreSQL; 0 = none.'),
  DB_CONNECT_TIMEOUT_MS: v(int(100, 120_000), 2_000, 'How long to wait for a PostgreSQL connection.'),
  TELELAB_API_TOKEN: v(
    str,
    undefined,
    'When set, mutating admin routes require `Authorization: Bearer <token>`.',
    true,
  ),
  LOG_LEVEL: v(
    oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
    'info',
    'pino log level.',
  ),
  BODY_LIMIT_BYTES: v(int(1024, 512 * 1024 * 1024), 10 * 1024 * 1024, 'Largest accepted request body.'),
  RATE_LIMIT_PER_MINUTE: v(
    int(0, 100_000_000),
    0,
    'Per-client request limit on public ingest routes (429 with Retry-After); 0 = off.',
  ),
  BATCH_MAX_ROWS: v(int(1, 100_000), 500, 'Batch writer: flush when this many rows are queued.'),
  BATCH_MAX_DELAY_MS: v(
    num(0, 10_000),
    2,
    'Batch writer: flush at the latest this long after the first row.',
  ),
  BATCH_MAX_QUEUE: v(int(1, 10_000_000), 50_000, 'Batch writer: queued rows beyond this get 503 (overload).'),
  JOBS_POLL_INTERVAL_SECONDS: v(
    num(0.5, 60),
    0.5,
    'How often background workers poll for jobs (a job sent by the same process starts at once).',
  ),
  DEVICES_RECALC_CRON: v(cron, '', 'Schedule of the devices aggregate recalculation; empty/off = none.'),
  DEVICES_BATCH_LIMIT: v(int(1, 1_000_000), 10_000, 'Most items accepted by POST /devices/data/batch.'),
  AB_CACHE_SIZE: v(int(0, 10_000_000), 100_000, 'Returning devices kept in the A/B answer cache; 0 = off.'),
  CONTROL_DECISION_INTERVAL: v(num(0.1, 3600), 5, 'Seconds between controller decisions.'),
  CONTROL_ALPHA: v(probability, 0.05, 'Significance level of the controller t-test.'),
  CONTROL_MIN_DWELL: v(int(0, 1000), 0, 'Decisions a status must hold before it may change again; 0 = off.'),
  CONTROL_ENABLED: v(bool, true, 'Run the controller decision loop in this process (leader-elected).'),
  CONTROL_DETECTOR: v(
    oneOf('ttest', 'cusum'),
    'ttest',
    'Change detector of the controller: ttest = Welch t-test of the last two windows (CONTROL_ALPHA, CONTROL_MIN_DWELL); cusum = two-sided CUSUM on standardised window means (CONTROL_CUSUM_ARL, CONTROL_CUSUM_K).',
  ),
  CONTROL_CUSUM_ARL: v(
    num(10, 10_000_000),
    500,
    'CUSUM: target average run length in decisions between false switches on a stationary stream; the threshold is derived from it.',
  ),
  CONTROL_CUSUM_K: v(
    num(0.05, 10),
    0.5,
    'CUSUM: reference value in standard errors of a window mean (half the shift to detect fastest).',
  ),
  CONTROL_RETENTION: v(
    int(60, 31 * 24 * 3600),
    600,
    'Seconds of sensor readings kept (at least 3 decision intervals): what /control/replay can replay. Decisions are kept.',
  ),
  MANIPULATOR_HOST: v(host, '127.0.0.1', 'Manipulator TCP host.'),
  MANIPULATOR_PORT: v(int(1, 65535), 1234, 'Manipulator TCP port.'),
  MANIPULATOR_ACK: v(
    oneOf('auto', 'on', 'off'),
    'auto',
    'Manipulator replies: on = wait for its `ok` (acknowledged); off = fire-and-forget (sent); auto = wait, but a manipulator that closes after each command without replying (the original one) is detected and its commands recorded as sent.',
  ),
  LATENCY_ALLOWED_TARGETS: v(
    str,
    'loopback',
    "Comma list of allowed latency targets: 'loopback', '*', host names, IPs or CIDRs (e.g. 10.0.0.0/8).",
  ),
  LATENCY_MAX_USERS: v(int(1, 100_000), 1000, 'Most virtual users per load profile.'),
  LATENCY_MAX_RATE: v(int(1, 10_000_000), 50_000, 'Most requests per second per experiment (open model).'),
  LATENCY_MAX_DURATION_SECONDS: v(int(1, 31 * 24 * 3600), 3600, 'Longest total duration of an experiment.'),
  LATENCY_RAW_RESULTS_CAP: v(int(0, 100_000_000), 100_000, 'Raw per-request records kept per experiment.'),
} as const;

type Spec = typeof configSpec;
type ValueOf<S> = S extends VarSpec<infer T> ? T : never;
type HasDefault<S> = S extends { default: undefined } ? false : true;

export type Config = Readonly<{
  [K in keyof Spec]: HasDefault<Spec[K]> extends true ? ValueOf<Spec[K]> : ValueOf<Spec[K]> | undefined;
}>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates every variable; collects all problems so a user fixes them in one go. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(configSpec) as [string, VarSpec<unknown>][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      out[name] = spec.default;
      continue;
    }
    try {
      out[name] = spec.parser.parse(raw);
    } catch {
      const shown = spec.secret ? '<hidden>' : JSON.stringify(raw);
      problems.push(`${name}=${shown} is invalid: expected ${spec.parser.form}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...out, ...overrides }) as Config;
}

/** Markdown table of every variable, for the README. */
export function configMarkdown(): string {
  const rows = Object.entries(configSpec).map(([name, s]) => {
    const spec = s as VarSpec<unknown>;
    const def = spec.default === undefined || spec.default === '' ? '—' : `\`${String(spec.default)}\``;
    return `| \`${name}\` | ${spec.parser.form} | ${def} | ${spec.description} |`;
  });
  return ['| variable | form | default | what it does |', '|---|---|---|---|', ...rows].join('\n');
}
