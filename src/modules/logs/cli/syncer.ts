/**
 * `telelab log-sync` as a library: sync cycles (sync-cycle.ts) every interval until stopped, each
 * success followed by a position report in the background, problems logged once when they start and
 * once when they clear.
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent } from 'undici';
import { type SyncOnceOptions, type SyncReport, syncOnce } from './sync-cycle';
import { reportPosition } from './sync-source';

export interface SyncLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SyncerOptions extends SyncOnceOptions {
  /** Pause between cycles (ms). */
  intervalMs: number;
  logger?: SyncLogger;
  onSync?: (report: SyncReport) => void;
  /**
   * After each successful cycle, report the position as `PUT <source>/api/data/syncers/<name>`
   * (`[A-Za-z0-9._:-]{1,64}`, see `defaultSyncerName`). Best effort: a failed report is logged at
   * debug and never stops syncing. Unset: no reports.
   */
  name?: string;
}

export interface SyncerSummary {
  cycles: number;
  appended: number;
  repairedBytes: number;
}

const silent: SyncLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Runs cycles every intervalMs until the signal aborts; a cycle in progress finishes its page first. */
export async function runSyncer(opts: SyncerOptions): Promise<SyncerSummary> {
  const logger = opts.logger ?? silent;
  const dispatcher = opts.dispatcher ?? new Agent();
  const summary: SyncerSummary = { cycles: 0, appended: 0, repairedBytes: 0 };
  let previousProblem: string | undefined;
  let reporting: Promise<void> | undefined;
  try {
    while (!opts.signal?.aborted) {
      const report = await syncOnce({ ...opts, dispatcher });
      summary.cycles++;
      summary.appended += report.fetched;
      summary.repairedBytes += report.repairedBytes;
      previousProblem = logReport(logger, opts.targetFile, report, previousProblem);
      opts.onSync?.(report);
      // In the background, one at a time: a slow API never delays the next cycle.
      if (opts.name !== undefined && report.outcome === 'synced' && !reporting) {
        const position = {
          target_file: resolve(opts.targetFile),
          last_id: report.lastId,
          records_written: summary.appended,
        };
        reporting = reportPosition({ ...opts, name: opts.name }, dispatcher, position, (fields, msg) =>
          logger.debug(fields, msg),
        ).finally(() => {
          reporting = undefined;
        });
      }
      await sleep(opts.intervalMs, undefined, { signal: opts.signal }).catch(() => undefined);
    }
  } finally {
    await reporting; // the last report, bounded by its timeout
    if (!opts.dispatcher) await dispatcher.close();
  }
  return summary;
}

/** Logs a problem once when it starts and once when it clears, not every interval. */
function logReport(
  logger: SyncLogger,
  file: string,
  report: SyncReport,
  previous: string | undefined,
): string | undefined {
  const problem = report.error ? `${report.error.code}:${report.lastId}` : undefined;
  const fields = { file, ...report };
  if (problem === undefined) {
    if (previous !== undefined) logger.info(fields, 'log sync recovered');
    if (report.repairedBytes > 0) {
      logger.warn(fields, 'log sync cut a torn last line (a writer died mid-write)');
    }
    if (report.fetched > 0 || report.repairedBytes > 0) logger.info(fields, 'log sync appended records');
    else logger.debug(fields, `log sync: ${report.outcome === 'synced' ? 'up to date' : report.outcome}`);
    return undefined;
  }
  if (problem === previous) logger.debug(fields, 'log sync still failing');
  else if (report.outcome === 'cursor-not-found') logger.error(fields, report.error!.message);
  else logger.warn(fields, `log sync failed: ${report.error!.message}`);
  return problem;
}
