import { Command, Option } from 'commander';
import { EXIT, integer, onShutdown, usageErrorsExit2 } from '../../../platform/cli-kit';
import { duration, httpUrl, ratio, syncerName } from './options';
import { formatClientSummary, formatStatuses, statusLine, syncLogger } from './output';
import type { SyncReport } from './sync-cycle';
import { defaultSyncerName } from './syncer-name';

/**
 * Thin CLI adapters over client.ts and syncer.ts. The root CLI adds them with addCommand().
 * Environment variables read here (flags win over them), under the names the original tools used:
 *   THREADS         log-client --threads   concurrent request loops          (default 4)
 *   REQUESTS_DELAY  log-client --delay     max random pause between requests (ms, default 500)
 *   TARGET_FILE     log-sync --target-file NDJSON file shared by all syncers  (default ./.telelab/logs.ndjson)
 * log-sync reports its position after each successful cycle (PUT <source>/api/data/syncers/<name>,
 * --name, default <file name>-<interval>ms; --no-report to stop); a failed report never stops syncing.
 * Bad flags or variables exit with 2; a run that could not do its job exits with 1.
 */

const DEFAULT_API = 'http://127.0.0.1:8000';

interface LogClientFlags {
  threads: number;
  delay: number;
  target: string;
  count?: number;
  duration?: number;
  invalidRatio: number;
  logDir: string;
  json?: boolean;
}

interface LogSyncFlags {
  targetFile: string;
  interval: number;
  source: string;
  pageLimit: number;
  name?: string;
  report: boolean;
  once?: boolean;
  json?: boolean;
  verbose?: boolean;
}

export function logClientCommand(): Command {
  return usageErrorsExit2(new Command('log-client'))
    .description(
      'simulate clients: POST generated access-log lines to <target>/api/data from N concurrent loops',
    )
    .addOption(
      new Option('--threads <n>', 'concurrent request loops')
        .env('THREADS')
        .default(4)
        .argParser(integer(1, 10_000)),
    )
    .addOption(
      new Option('--delay <ms>', "max random pause between one loop's requests (0..ms)")
        .env('REQUESTS_DELAY')
        .default(500)
        .argParser(integer(0, 3_600_000)),
    )
    .addOption(new Option('--target <url>', 'API base URL').default(DEFAULT_API).argParser(httpUrl))
    .addOption(
      new Option('--count <n>', 'stop after n requests in total').argParser(
        integer(0, Number.MAX_SAFE_INTEGER),
      ),
    )
    .addOption(
      new Option(
        '--duration <time>',
        'stop after this long: 500ms, 30s, 5m; a bare number is seconds',
      ).argParser(duration),
    )
    .addOption(
      new Option('--invalid-ratio <r>', 'share of malformed lines, 0..1').default(0).argParser(ratio),
    )
    .addOption(
      new Option('--log-dir <dir>', 'where each loop writes <short_id>.log').default('./.telelab/log-client'),
    )
    .option('--json', 'print the summary as JSON')
    .action(async (flags: LogClientFlags) => {
      const { runLogClient } = await import('./client');
      const controller = stopOnSignals();
      const status = statusLine(!flags.json);
      const result = await runLogClient({
        target: flags.target,
        threads: flags.threads,
        delayMs: flags.delay,
        count: flags.count,
        durationMs: flags.duration,
        invalidRatio: flags.invalidRatio,
        logDir: flags.logDir,
        signal: controller.signal,
        onProgress: (p) =>
          status.update(
            `${p.sent} sent, ${p.ratePerSec} req/s, ${p.errors} errors, ${formatStatuses(p.byStatus)}`,
          ),
      });
      status.clear();
      process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : formatClientSummary(result, flags));
      // No HTTP answer at all means the target was not there: that run did not do its job.
      if (result.errors > 0) process.exitCode = EXIT.FAILURE;
    });
}

export function logSyncCommand(): Command {
  return usageErrorsExit2(new Command('log-sync'))
    .description('append the records of <source>/api/data to an NDJSON file; any number may share the file')
    .addOption(
      new Option('--target-file <file>', 'NDJSON file, shared by all syncers')
        .env('TARGET_FILE')
        .default('./.telelab/logs.ndjson'),
    )
    .addOption(
      new Option('--interval <ms>', 'pause between sync cycles')
        .default(1000)
        .argParser(integer(0, 86_400_000)),
    )
    .addOption(new Option('--source <url>', 'API base URL').default(DEFAULT_API).argParser(httpUrl))
    .addOption(
      new Option('--page-limit <n>', 'records per request').default(1000).argParser(integer(1, 100_000)),
    )
    .addOption(
      new Option(
        '--name <name>',
        'name this syncer reports its position under (PUT <source>/api/data/syncers/<name>); ' +
          'default <target file name>-<interval>ms',
      ).argParser(syncerName),
    )
    .option('--no-report', 'do not report the position to the source')
    .option('--once', 'sync until caught up, then exit (1 if that failed)')
    .option('--json', 'print every cycle report as one JSON line on stdout')
    .option('--verbose', 'log every cycle, not only changes')
    .action(async (flags: LogSyncFlags) => {
      const [{ runSyncer }, { syncOnce }] = await Promise.all([import('./syncer'), import('./sync-cycle')]);
      const controller = stopOnSignals();
      const status = statusLine(!flags.json);
      const logger = await syncLogger(status, flags.verbose === true);
      const base = {
        source: flags.source,
        targetFile: flags.targetFile,
        pageLimit: flags.pageLimit,
        signal: controller.signal,
      };
      let total = 0;
      const onSync = (report: SyncReport) => {
        total += report.fetched;
        if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
        const lag = report.lagMs === null ? '-' : `${(report.lagMs / 1000).toFixed(1)} s`;
        status.update(`${total} appended, last +${report.fetched} (${report.outcome}), lag ${lag}`);
      };
      if (flags.once) {
        const report = await syncOnce(base);
        onSync(report);
        status.clear();
        if (report.outcome !== 'synced') {
          logger.error(
            { file: flags.targetFile, ...report },
            report.error?.message ?? `log sync ${report.outcome}`,
          );
          process.exitCode = EXIT.FAILURE;
        }
        return;
      }
      const name = flags.report
        ? (flags.name ?? defaultSyncerName(flags.targetFile, flags.interval))
        : undefined;
      const summary = await runSyncer({
        ...base,
        intervalMs: flags.interval,
        logger,
        onSync,
        ...(name !== undefined ? { name } : {}),
      });
      status.clear();
      logger.info({ file: flags.targetFile, ...summary }, 'log sync stopped');
    });
}

/** First SIGINT/SIGTERM/SIGHUP stops gracefully (in-flight work finishes); a second one exits at once. */
function stopOnSignals(): AbortController {
  const controller = new AbortController();
  onShutdown((reason) => {
    process.stderr.write(`\n${reason}: stopping (send it again to exit at once)\n`);
    controller.abort();
  });
  return controller;
}
