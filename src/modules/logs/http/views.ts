/** Maps the logs domain to the wire and back: created records, syncer positions, batch items. */
import type { Static } from 'typebox';
import type { BatchOutcome, SyncerPosition } from '../model';
import type { CreatedSchema, SyncerPositionSchema, SyncerReportBody } from './schemas';

export const createdView = (r: { id: string; created: Date }): Static<typeof CreatedSchema> => ({
  id: r.id,
  created: r.created.toISOString(),
});

export const syncerPositionView = (s: SyncerPosition): Static<typeof SyncerPositionSchema> => ({
  name: s.name,
  target_file: s.targetFile,
  last_id: s.lastId,
  records_written: s.recordsWritten,
  reported_at: s.reportedAt.toISOString(),
  lag: s.lag,
});

export const syncerReport = (name: string, body: Static<typeof SyncerReportBody>) => ({
  name,
  targetFile: body.target_file,
  lastId: body.last_id,
  recordsWritten: body.records_written,
});

/** A batch item the route refused before the service saw it: the field at fault and the detail. */
interface RefusedItem {
  reason: 'body' | 'log';
  detail: string;
}

/**
 * One item of a batch body, checked as `POST /api/data` checks its body: a JSON object with exactly a
 * string `log`. The NDJSON parser hands over a SyntaxError for a line that is not JSON.
 */
export function batchItemLine(item: unknown): string | RefusedItem {
  if (item instanceof SyntaxError) return { reason: 'body', detail: `body: ${item.message}` };
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    return { reason: 'body', detail: 'body: expected a JSON object {"log": "..."}' };
  }
  const line = (item as { log?: unknown }).log;
  if (line === undefined) return { reason: 'log', detail: 'log: required field is missing' };
  if (typeof line !== 'string')
    return { reason: 'log', detail: `log: must be a string, got ${typeName(line)}` };
  const extra = Object.keys(item).find((k) => k !== 'log');
  if (extra !== undefined) return { reason: 'body', detail: `body.${extra}: unknown field (not allowed)` };
  return line;
}

/** The service's outcome for the lines, with the refused items put back at their index. */
export function batchResultView(
  outcome: BatchOutcome,
  lineIndexes: number[],
  refused: BatchOutcome['rejected'],
): BatchOutcome {
  const rejected = [
    ...refused,
    ...outcome.rejected.map((r) => ({ index: lineIndexes[r.index]!, detail: r.detail })),
  ].sort((a, b) => a.index - b.index);
  return { accepted: outcome.accepted, ids: outcome.ids, rejected };
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}
