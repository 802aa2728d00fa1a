/** A record as `GET /api/data` returns it and as the syncer writes it, one per line of the target file. */
export interface SyncedRecord {
  id: string;
  created: string;
  log: { ip: string; method: string; uri: string; status_code: number };
}

/** Keeps exactly the record shape, in a fixed key order, so every syncer writes identical bytes. */
export function toRecord(value: unknown): SyncedRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { id, created, log } = value as Record<string, unknown>;
  if (typeof id !== 'string' || id === '' || typeof created !== 'string') return undefined;
  if (typeof log !== 'object' || log === null) return undefined;
  const { ip, method, uri, status_code } = log as Record<string, unknown>;
  if (typeof ip !== 'string' || typeof method !== 'string' || typeof uri !== 'string') return undefined;
  if (typeof status_code !== 'number') return undefined;
  return { id, created, log: { ip, method, uri, status_code } };
}
