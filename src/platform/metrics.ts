/**
 * Prometheus metrics: one registry per app instance (tests build many apps in one process),
 * process metrics, and a request-duration histogram by route, method and status.
 */
import client from 'prom-client';
import type { App } from './http/server';

export type Metrics = client.Registry;

export function createMetrics(): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  return registry;
}

export function counter(registry: Metrics, name: string, help: string, labelNames: string[] = []) {
  return new client.Counter({ name, help, labelNames, registers: [registry] });
}

/** `collect` runs at scrape time, for values read from elsewhere (the database, a loop's state). */
export function gauge(
  registry: Metrics,
  name: string,
  help: string,
  labelNames: string[] = [],
  collect?: (this: client.Gauge) => void | Promise<void>,
) {
  return new client.Gauge({ name, help, labelNames, registers: [registry], ...(collect ? { collect } : {}) });
}

export function histogram(
  registry: Metrics,
  name: string,
  help: string,
  labelNames: string[] = [],
  buckets?: number[],
) {
  return new client.Histogram({
    name,
    help,
    labelNames,
    registers: [registry],
    ...(buckets ? { buckets } : {}),
  });
}

export function registerMetricsRoute(app: App, registry: Metrics): void {
  const duration = histogram(
    registry,
    'http_request_duration_seconds',
    'HTTP request duration by route, method and status code',
    ['route', 'method', 'status_code'],
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  app.addHook('onResponse', async (req, reply) => {
    duration.observe(
      {
        route: req.routeOptions.url ?? 'unmatched',
        method: req.method,
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
