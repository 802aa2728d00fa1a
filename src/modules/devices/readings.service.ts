/**
 * Ingest and per-device aggregates. Transport-agnostic: routes translate HTTP to these calls.
 */
import { BatchWriter } from '../../platform/batch-writer';
import { notFound } from '../../platform/errors';
import type { BatchSettings, FlushObserver } from '../../platform/ingest';
import type { Clock } from '../../platform/module';
import type { AggregatesStore } from './aggregates.store';
import {
  type Aggregates,
  checkPeriod,
  type DeviceSummary,
  type NewReading,
  noData,
  type Page,
  type PageRequest,
  type Period,
  type StoredReading,
} from './model';
import type { ReadingsStore } from './readings.store';

export interface ReadingInput {
  x: number;
  y: number;
  z: number;
  /** Device time of the measurement; default: now. */
  ts?: Date | undefined;
}

export interface ReadingsServiceDeps {
  readings: ReadingsStore;
  aggregates: Pick<AggregatesStore, 'forDevice'>;
  clock: Clock;
  batch: BatchSettings;
  onStored?: (rows: number) => void;
  onFlush?: FlushObserver;
}

export const deviceNotFound = (deviceId: string) =>
  notFound('DEVICES_DEVICE_NOT_FOUND', `Device ${deviceId} has never sent data`);

export function createReadingsService(deps: ReadingsServiceDeps) {
  const { readings, clock } = deps;
  // Single readings are micro-batched: each caller is answered after its batch commits.
  const writer = new BatchWriter<NewReading, { id: number; createdAt: Date }>({
    name: 'devices readings',
    flush: (rows) => readings.insert(rows),
    ...deps.batch,
    onFlush: deps.onFlush,
  });

  return {
    /** Stores one reading; resolves after it is committed. Registers an unknown device. */
    async ingest(deviceId: string, input: ReadingInput): Promise<StoredReading> {
      const reading = { deviceId, x: input.x, y: input.y, z: input.z, ts: input.ts ?? new Date(clock.now()) };
      const stored = await writer.write(reading);
      deps.onStored?.(1);
      return { ...reading, ...stored };
    },

    /**
     * Stores a whole batch in one statement, so it is all-or-nothing in storage as well as in
     * validation: a client retrying a failed batch never duplicates part of it.
     */
    async ingestBatch(items: readonly (ReadingInput & { deviceId: string })[]): Promise<number> {
      const now = new Date(clock.now());
      const rows = items.map((i) => ({ deviceId: i.deviceId, x: i.x, y: i.y, z: i.z, ts: i.ts ?? now }));
      await readings.insertUnanswered(rows);
      deps.onStored?.(rows.length);
      return rows.length;
    },

    async deviceAggregates(deviceId: string, period: Period): Promise<Aggregates> {
      checkPeriod(period);
      const result = await deps.aggregates.forDevice(deviceId, period);
      if (result) return result;
      // Only the empty case pays for telling an unknown device from an empty period.
      throw (await readings.deviceExists(deviceId)) ? noData(`device ${deviceId}`) : deviceNotFound(deviceId);
    },

    listDevices(page: PageRequest): Promise<Page<DeviceSummary>> {
      return readings.listDevices(page);
    },

    /** Flushes accepted readings; new ones are refused with 503. */
    stop(): Promise<void> {
      return writer.close();
    },
  };
}

export type ReadingsService = ReturnType<typeof createReadingsService>;
