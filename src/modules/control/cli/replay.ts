/**
 * `telelab control-replay`: asks a running server's POST /control/replay and prints the replay next to the
 * live controller. A client of the API, not of the database: the embedded database belongs to the server
 * process (one process per data directory), and this way it works against any node.
 */
import { EXIT } from '../../../platform/cli-kit';

export interface ReplayCliFlags {
  api: string;
  from?: string;
  to?: string;
  last?: number;
  detector: 'ttest' | 'cusum';
  alpha?: number;
  minDwell?: number;
  arl?: number;
  k?: number;
  stationaryFrom?: string;
  stationaryTo?: string;
  json?: boolean;
  decisions?: boolean;
}

interface Out {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

interface Summary {
  decisions: number;
  switches: number;
  up_seconds: number;
  down_seconds: number;
  stationary: { decisions: number; switches: number; false_switch_rate: number } | null;
}

interface Answer {
  from: string;
  to: string;
  detector: Record<string, unknown>;
  decisions: { decided_at: string; status: string; changed: boolean; reason: string; detail: string }[];
  summary: Summary;
  live: Summary;
}

/** The request body from the flags; `now` fills --last. Returns a usage message instead when flags clash. */
export function replayBody(flags: ReplayCliFlags, now = new Date()): Record<string, unknown> | string {
  if (flags.last !== undefined && (flags.from !== undefined || flags.to !== undefined)) {
    return 'use either --last or --from/--to';
  }
  if ((flags.stationaryFrom === undefined) !== (flags.stationaryTo === undefined)) {
    return '--stationary-from and --stationary-to go together';
  }
  const to = flags.to ?? now.toISOString();
  const from = flags.from ?? new Date(Date.parse(to) - (flags.last ?? 10) * 60_000).toISOString();
  const body: Record<string, unknown> = { from, to, detector: flags.detector };
  const params = { alpha: flags.alpha, min_dwell: flags.minDwell, arl: flags.arl, k: flags.k };
  for (const [key, value] of Object.entries(params)) if (value !== undefined) body[key] = value;
  if (flags.stationaryFrom !== undefined)
    body.stationary = { from: flags.stationaryFrom, to: flags.stationaryTo };
  return body;
}

const pad = (s: string, n: number) => s.padStart(n);

function table(a: Answer): string {
  const rate = (s: Summary) =>
    s.stationary
      ? `${s.stationary.switches}/${s.stationary.decisions} = ${(s.stationary.false_switch_rate * 100).toFixed(1)} %`
      : '—';
  const row = (name: string, s: Summary) =>
    `${name.padEnd(16)}${pad(String(s.decisions), 10)}${pad(String(s.switches), 10)}` +
    `${pad(s.up_seconds.toFixed(0), 8)}${pad(s.down_seconds.toFixed(0), 10)}   ${rate(s)}`;
  const settings = Object.entries(a.detector)
    .filter(([k]) => k !== 'type')
    .map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
    .join(', ');
  return [
    `Replay ${a.from} .. ${a.to}: ${a.detector.type} (${settings})`,
    `${''.padEnd(16)}${pad('decisions', 10)}${pad('switches', 10)}${pad('up s', 8)}${pad('down s', 10)}   false switches (stationary)`,
    row(`replay ${a.detector.type}`, a.summary),
    row('live', a.live),
    '',
  ].join('\n');
}

/** Runs the replay; returns the exit code. */
export async function runReplayCli(flags: ReplayCliFlags, out: Out): Promise<number> {
  const body = replayBody(flags);
  if (typeof body === 'string') {
    out.stderr.write(`error: ${body}\n`);
    return EXIT.USAGE;
  }
  const url = `${flags.api.replace(/\/+$/, '')}/control/replay`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (e) {
    out.stderr.write(`error: cannot reach ${url}: ${(e as Error).message}\n`);
    return EXIT.FAILURE;
  }
  const text = await res.text();
  if (!res.ok) {
    let detail = text.slice(0, 500);
    try {
      detail = (JSON.parse(text) as { detail?: string }).detail ?? detail;
    } catch {
      // not problem+json: show the start of the body
    }
    out.stderr.write(`error: ${res.status} ${detail}\n`);
    // The server refused the input (a bad period or parameter): a usage error, as for a bad flag.
    return res.status >= 400 && res.status < 500 ? EXIT.USAGE : EXIT.FAILURE;
  }
  const answer = JSON.parse(text) as Answer;
  if (flags.json) {
    out.stdout.write(`${text}\n`);
    return EXIT.OK;
  }
  out.stdout.write(table(answer));
  if (flags.decisions) {
    for (const d of answer.decisions) {
      out.stdout.write(
        `${d.decided_at}  ${d.status.padEnd(4)} ${d.changed ? '*' : ' '} ${d.reason}: ${d.detail}\n`,
      );
    }
  }
  return EXIT.OK;
}
