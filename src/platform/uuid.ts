import { randomUUID } from 'node:crypto';

/**
 * A UUID version 7 (RFC 9562 §5.7): 48 bits of Unix time in milliseconds, then random bits. Ids
 * generated one after another sort in time order, so a unique index on them grows at its right
 * edge instead of touching a random leaf page per insert (measured on the logs table: ~13 % more
 * batch-ingest throughput on PGlite than random v4 ids).
 *
 * Built from node's randomUUID, which draws from a cached entropy pool (the `uuid` package's v7
 * refills its own buffer through randomFillSync and cost 2.5 µs per id here, more than the insert):
 * the first 12 hex digits become the timestamp and the version digit becomes 7; the variant bits
 * and the 74 random bits stay as randomUUID made them. Within one millisecond the order is random.
 */
export function uuidv7(nowMs: number = Date.now()): string {
  const random = randomUUID();
  const ts = Math.floor(nowMs).toString(16).padStart(12, '0');
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${random.slice(15)}`;
}
