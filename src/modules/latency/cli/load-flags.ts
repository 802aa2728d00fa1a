/** Option parsers and the parsed flags of `telelab load`. */
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { EXIT } from '../../../platform/cli-kit';
import type { LoadStage, LoadTarget, Thresholds } from '../engine';

export const THRESHOLD_NAMES = [
  'p50_ms',
  'p90_ms',
  'p99_ms',
  'mean_ms',
  'success_rate',
  'error_rate',
] as const;

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be an integer > 0');
  return n;
}

export function header(value: string, acc: Record<string, string> = {}): Record<string, string> {
  const i = value.indexOf(':');
  if (i <= 0) throw new InvalidArgumentError("expected 'Name: value'");
  return { ...acc, [value.slice(0, i).trim()]: value.slice(i + 1).trim() };
}

export function threshold(value: string, acc: Thresholds = {}): Thresholds {
  const [name, raw] = value.split('=', 2);
  if (!THRESHOLD_NAMES.includes(name as (typeof THRESHOLD_NAMES)[number]) || raw === undefined) {
    throw new InvalidArgumentError(`expected NAME=VALUE with NAME one of ${THRESHOLD_NAMES.join(', ')}`);
  }
  const limit = Number(raw);
  if (!Number.isFinite(limit) || limit < 0) throw new InvalidArgumentError('the limit must be a number >= 0');
  return { ...acc, [name as keyof Thresholds]: limit };
}

export function statusList(value: string): number[] {
  const list = value.split(',').map(Number);
  if (list.some((s) => !Number.isInteger(s) || s < 100 || s > 999)) {
    throw new InvalidArgumentError('expected HTTP status codes, e.g. 200,204');
  }
  return list;
}

export interface LoadFlags {
  url: string;
  method: string;
  header?: Record<string, string>;
  body?: string;
  users?: number;
  /** Absent only with --find-capacity (checked first thing). */
  duration?: number;
  interval: number;
  rate?: number;
  connections?: number;
  pipelining?: number;
  threshold?: Thresholds;
  successStatus?: number[];
  timeout: number;
  json?: boolean;
  abortOnFail?: boolean;
  findCapacity?: boolean;
  slo?: Thresholds;
  startRate: number;
  maxRate: number;
  window: number;
  warmup: number;
  baseline?: string;
  tolerance: number;
}

/** An arrival rate as a stage: `users / intervalSeconds` per second, exact for fractional rates too. */
export function rateStage(rate: number, durationSeconds: number): LoadStage {
  return Number.isInteger(rate)
    ? { users: rate, durationSeconds, intervalSeconds: 1 }
    : { users: Math.round(rate * 1000), durationSeconds, intervalSeconds: 1000 };
}

/**
 * `--users` within LATENCY_MAX_USERS, the cap the HTTP API puts on a profile's users: without it a run of
 * millions of users exhausts memory. Only that variable is read, so that an unrelated bad one does not
 * stop a load test.
 */
export async function checkUsersCap(users: number | undefined, cmd: Command): Promise<void> {
  if (users === undefined) return;
  const { ConfigError, configSpec, loadConfig } = await import('../../../platform/config');
  let max: number;
  try {
    max = loadConfig({ LATENCY_MAX_USERS: process.env.LATENCY_MAX_USERS }).LATENCY_MAX_USERS;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return process.exit(EXIT.USAGE);
  }
  if (users > max)
    cmd.error(
      `error: --users ${users} is above LATENCY_MAX_USERS (${max}); to allow more, set ` +
        `LATENCY_MAX_USERS=<n> (${configSpec.LATENCY_MAX_USERS.parser.form})`,
    );
}

/** The request of every flag set: `--body @file` is read here (a usage error when it cannot be). */
export function targetOf(flags: LoadFlags, cmd: Command): LoadTarget {
  let body: string | Buffer | undefined = flags.body;
  if (body?.startsWith('@')) {
    try {
      body = readFileSync(body.slice(1));
    } catch (e) {
      cmd.error(`error: cannot read the body file: ${(e as Error).message}`);
    }
  }
  return { url: flags.url, method: flags.method, headers: flags.header, body: body ?? null };
}
