/** Option parsers of the log commands (commander argParser functions: throw what to type instead). */
import { InvalidArgumentError } from 'commander';
import { SYNCER_NAME } from '../model';

export function syncerName(value: string): string {
  if (!SYNCER_NAME.test(value)) throw new InvalidArgumentError('expected 1-64 of A-Z a-z 0-9 . _ : -');
  return value;
}

export function ratio(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1))
    throw new InvalidArgumentError('expected a number from 0 to 1');
  return n;
}

export function httpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected a URL such as http://127.0.0.1:8000');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError('expected http:// or https://');
  return value;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds from "500ms", "30s", "5m", "1h" or a bare number of seconds. */
export function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 500ms, 30s, 5m');
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!);
}
