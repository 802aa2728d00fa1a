/** The telemetry routes: ingest (one reading or a batch), per-device aggregates, the device list. */
import { Type } from 'typebox';
import { problemResponses } from '../../../platform/http/problems';
import type { App } from '../../../platform/http/server';
import type { Period } from '../model';
import type { ReadingsService } from '../readings.service';
import {
  BatchAccepted,
  BatchItem,
  DeviceAggregates,
  DeviceListResponse,
  DeviceParams,
  PageQuery,
  PeriodQuery,
  ReadingBody,
  ReadingResponse,
} from './schemas';
import { deviceAggregatesJson, deviceSummaryJson, periodOf, readingJson, timestampField } from './views';

export function readingsRoutes(app: App, service: ReadingsService, opts: { batchLimit: number }): void {
  const aggregatesOf = async (deviceId: string, period: Period) =>
    deviceAggregatesJson(deviceId, await service.deviceAggregates(deviceId, period), period);

  app.post(
    '/devices/:device_id/data',
    {
      config: { ingest: true },
      schema: {
        operationId: 'postDeviceData',
        tags: ['devices'],
        summary: 'Store one reading (x, y, z) of a device; registers an unknown device',
        description: 'Answered after the reading is committed.',
        params: DeviceParams,
        body: ReadingBody,
        response: { 201: ReadingResponse, ...problemResponses(400, 413, 415, 503) },
      },
    },
    async (req, reply) => {
      const { x, y, z, ts } = req.body;
      const r = await service.ingest(req.params.device_id, { x, y, z, ts: timestampField('body.ts', ts) });
      return reply.code(201).send(readingJson(r));
    },
  );

  app.post(
    '/devices/data/batch',
    {
      config: { ingest: true },
      schema: {
        operationId: 'postDeviceDataBatch',
        tags: ['devices'],
        summary: `Store up to ${opts.batchLimit} readings of any devices, all or nothing`,
        description:
          'Validated as a whole: the first bad item is named by its index (e.g. body.3.x). ' +
          'Stored in one statement, so a failed batch stores nothing and can be retried as is.',
        body: Type.Array(BatchItem, { maxItems: opts.batchLimit }),
        response: { 201: BatchAccepted, ...problemResponses(400, 413, 415, 503) },
      },
    },
    async (req, reply) => {
      const items = req.body.map((item, i) => ({
        deviceId: item.device_id,
        x: item.x,
        y: item.y,
        z: item.z,
        ts: timestampField(`body.${i}.ts`, item.ts),
      }));
      return reply.code(201).send({ accepted: await service.ingestBatch(items) });
    },
  );

  app.get(
    '/devices/:device_id/data',
    {
      schema: {
        operationId: 'getDeviceAggregates',
        tags: ['devices'],
        summary: 'Aggregates of a device over a period (inclusive bounds, either optional)',
        params: DeviceParams,
        querystring: PeriodQuery,
        response: { 200: DeviceAggregates, ...problemResponses(400, 404, 503) },
      },
    },
    async (req) => aggregatesOf(req.params.device_id, periodOf(req.query)),
  );

  app.get(
    '/devices/:device_id/data/all',
    {
      schema: {
        operationId: 'getDeviceAggregatesAllTime',
        tags: ['devices'],
        summary: 'Aggregates of a device over all its readings',
        params: DeviceParams,
        response: { 200: DeviceAggregates, ...problemResponses(400, 404, 503) },
      },
    },
    async (req) => aggregatesOf(req.params.device_id, { start: null, end: null }),
  );

  app.get(
    '/devices',
    {
      schema: {
        operationId: 'listDevices',
        tags: ['devices'],
        summary: 'Devices in id order, with their reading count and last reading time',
        querystring: PageQuery,
        response: { 200: DeviceListResponse, ...problemResponses(400, 503) },
      },
    },
    async (req) => {
      const page = await service.listDevices({ after: req.query.after ?? null, limit: req.query.limit });
      return { items: page.items.map(deviceSummaryJson), next_after: page.nextAfter };
    },
  );
}
