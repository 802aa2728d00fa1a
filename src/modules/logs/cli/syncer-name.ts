import { basename } from 'node:path';

/**
 * A name that stays the same across restarts of the same syncer (so its row on the dashboard is
 * updated, not multiplied) and differs between two syncers on one file with different intervals:
 * `<file name>-<interval>ms`, reduced to the characters the API accepts (SYNCER_NAME).
 */
export function defaultSyncerName(targetFile: string, intervalMs: number): string {
  const suffix = `-${intervalMs}ms`;
  const base = basename(targetFile).replace(/[^A-Za-z0-9._:-]+/g, '_') || 'syncer';
  return base.slice(0, 64 - suffix.length) + suffix;
}
