import { basename } from 'node:path';

/** What the API accepts as a syncer's name (kept apart from syncer.ts so the CLI checks it without loading it). */
export const SYNCER_NAME = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * A name that stays the same across restarts of the same syncer (so its row on the dashboard is
 * updated, not multiplied) and differs between the seed's two syncers on one file (different
 * intervals): `<file name>-<interval>ms`, reduced to the characters the API accepts.
 */
export function defaultSyncerName(targetFile: string, intervalMs: number): string {
  const suffix = `-${intervalMs}ms`;
  const base = basename(targetFile).replace(/[^A-Za-z0-9._:-]+/g, '_') || 'syncer';
  return base.slice(0, 64 - suffix.length) + suffix;
}
