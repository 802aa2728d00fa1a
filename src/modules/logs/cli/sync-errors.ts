/**
 * Why a sync cycle failed, as `SyncReport.error.code` names it. The syncer is a client program that
 * never answers HTTP, so its errors carry a code and a message, no status.
 */
export type SyncErrorCode =
  | 'LOGS_SYNC_FAILED'
  | 'LOGS_SYNC_CURSOR_NOT_FOUND'
  | 'LOGS_SYNC_LOCK_LOST'
  | 'LOGS_SYNC_TARGET_CORRUPT'
  | 'LOGS_SYNC_SOURCE_ERROR';

export class SyncError extends Error {
  constructor(
    readonly code: SyncErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SyncError';
  }
}

export const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));
