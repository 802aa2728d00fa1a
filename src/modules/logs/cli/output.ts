/** What the log commands print: a progress line on a terminal, logs on stderr, the client's summary. */
import type { LogClientResult } from './client';
import type { SyncLogger } from './syncer';

export interface StatusLine {
  update(text: string): void;
  clear(): void;
}

/** A single self-overwriting progress line on stderr, only when stderr is a terminal. */
export function statusLine(wanted: boolean): StatusLine {
  if (!wanted || !process.stderr.isTTY) return { update() {}, clear() {} };
  let shown = false;
  return {
    update(text) {
      process.stderr.write(`\r\x1b[2K${text.slice(0, (process.stderr.columns || 120) - 1)}`);
      shown = true;
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[2K');
      shown = false;
    },
  };
}

/** pino on stderr; the progress line is cleared first so log lines are not glued to it. */
export async function syncLogger(status: StatusLine, verbose: boolean): Promise<SyncLogger> {
  const { default: pino } = await import('pino');
  const log = pino(
    { name: 'log-sync', level: verbose ? 'debug' : 'info' },
    pino.destination({ dest: 2, sync: true }),
  );
  const wrap =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (obj: object, msg?: string): void => {
      if (!log.isLevelEnabled(level)) return;
      status.clear();
      log[level](obj, msg);
    };
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}

export function formatStatuses(byStatus: Record<string, number>): string {
  const parts = Object.entries(byStatus).map(([status, n]) => `${status}: ${n}`);
  return parts.length > 0 ? parts.join(', ') : 'no answers yet';
}

export function formatClientSummary(r: LogClientResult, flags: { threads: number; logDir: string }): string {
  const errors = Object.entries(r.errorsByCode).map(([code, n]) => `${code}: ${n}`);
  return [
    `log-client: ${r.sent} requests in ${(r.durationMs / 1000).toFixed(1)} s = ${r.ratePerSec} req/s (${flags.threads} threads)`,
    `  answers: ${formatStatuses(r.byStatus)}`,
    `  invalid lines sent: ${r.invalidSent}; answers contradicting the line: ${r.unexpected}`,
    `  transport errors: ${r.errors}${errors.length > 0 ? ` (${errors.join(', ')})` : ''}`,
    `  per-thread logs: ${flags.logDir} (${r.files.length} files)`,
    '',
  ].join('\n');
}
