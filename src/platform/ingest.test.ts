import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';
import type { Db } from './db';
import { batchSettings, ingestBatch } from './ingest';
import { createMetrics } from './metrics';

const config = loadConfig({ BATCH_MAX_ROWS: '7', BATCH_MAX_DELAY_MS: '3', BATCH_MAX_QUEUE: '99' });
const db = (kind: Db['kind']) => ({ kind }) as Db;

describe('batchSettings', () => {
  it('takes the sizes from config and commits up to 4 batches at once on PostgreSQL', () => {
    expect(batchSettings({ config, db: db('postgres') })).toEqual({
      maxRows: 7,
      maxDelayMs: 3,
      maxQueue: 99,
      concurrency: 4,
    });
  });

  it('commits one batch at a time on PGlite, or when rows must stay in order', () => {
    expect(batchSettings({ config, db: db('pglite') }).concurrency).toBe(1);
    expect(batchSettings({ config, db: db('postgres') }, { ordered: true }).concurrency).toBe(1);
  });
});

describe('ingestBatch', () => {
  it('registers the flush histogram of the module and feeds it from onFlush', async () => {
    const metrics = createMetrics();
    const { onFlush } = ingestBatch({ config, db: db('pglite'), metrics }, 'probe', {
      help: 'Probe flushes',
    });
    onFlush({ rows: 3, ms: 2, ok: true });
    onFlush({ rows: 1, ms: 400, ok: false });
    const text = await metrics.metrics();
    expect(text).toContain('# HELP telelab_probe_batch_flush_seconds Probe flushes');
    expect(text).toContain('telelab_probe_batch_flush_seconds_count{ok="true"} 1');
    expect(text).toContain('telelab_probe_batch_flush_seconds_bucket{le="0.0025",ok="true"} 1');
    expect(text).toContain('telelab_probe_batch_flush_seconds_bucket{le="0.25",ok="false"} 0');
    expect(text).toContain('telelab_probe_batch_flush_seconds_bucket{le="1",ok="false"} 1');
  });
});
