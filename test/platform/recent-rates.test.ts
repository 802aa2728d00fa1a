/** The last two minutes of traffic by module, from the process's own counters (GET /metrics/recent). */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { counter, createMetrics, histogram } from '../../src/platform/metrics';
import { createRecentRates } from '../../src/platform/recent-rates';
import { buildTestApp } from '../helpers';

function counters() {
  const registry = createMetrics();
  const duration = histogram(registry, 'http_request_duration_seconds', 'requests', [
    'route',
    'method',
    'status_code',
  ]);
  const sent = counter(registry, 'telelab_latency_requests_total', 'sent', ['outcome']);
  const served = (route: string, status: number, n: number) => {
    for (let i = 0; i < n; i++)
      duration.observe({ route, method: 'GET', status_code: String(status) }, 0.001);
  };
  return { registry, served, sent };
}

describe('recent rates', () => {
  it('turns two readings 2 s apart into requests per second by module: served, 4xx, 5xx, generated', async () => {
    const { registry, served, sent } = counters();
    const recent = createRecentRates(registry);
    recent.addRoute('/devices/:device_id/data', ['devices']);
    served('/devices/:device_id/data', 200, 3); // before the baseline: not counted
    await recent.sample(10_000);
    served('/devices/:device_id/data', 200, 10);
    served('/devices/:device_id/data', 404, 4);
    served('/devices/:device_id/data', 503, 2);
    served('unmatched', 404, 3);
    sent.inc({ outcome: 'success' }, 280);
    sent.inc({ outcome: 'failure' }, 20);
    await recent.sample(12_000);

    const snap = recent.snapshot();
    expect(snap.t).toEqual([12]);
    expect(snap.modules.devices).toEqual({
      served: [8],
      client_errors: [2],
      server_errors: [1],
      generated: [0],
    });
    expect(snap.modules.platform).toEqual({
      served: [1.5],
      client_errors: [1.5],
      server_errors: [0],
      generated: [0],
    });
    expect(snap.modules.latency).toEqual({
      served: [0],
      client_errors: [0],
      server_errors: [0],
      generated: [150],
    });
  });

  it('keeps the last window of slots, oldest first', async () => {
    const { registry, sent } = counters();
    const recent = createRecentRates(registry, { windowSlots: 3 });
    await recent.sample(0);
    for (let s = 1; s <= 5; s++) {
      sent.inc({ outcome: 'success' }, s);
      await recent.sample(s * 1000);
    }
    const snap = recent.snapshot();
    expect(snap.t).toEqual([3, 4, 5]);
    expect(snap.modules.latency!.generated).toEqual([3, 4, 5]);
    expect(snap.window_seconds).toBe(3);
  });

  it('is served at GET /metrics/recent, filled once a second while the server runs', async () => {
    const app = await buildTestApp({ modules: [] });
    try {
      for (let i = 0; i < 6; i++) expect((await app.http.inject({ url: '/healthz' })).statusCode).toBe(200);
      await sleep(1300);
      const snap = (await app.http.inject({ url: '/metrics/recent' })).json();
      expect(snap.interval_seconds).toBe(1);
      expect(snap.t.length).toBeGreaterThanOrEqual(1);
      // The six /healthz requests, spread over the slots they fell in.
      const slotSeconds = snap.t.map((t: number, i: number) => (i === 0 ? null : t - snap.t[i - 1]));
      const served = snap.modules.platform.served as number[];
      const total = served.reduce((sum, rps, i) => sum + rps * (slotSeconds[i] ?? 1), 0);
      expect(total).toBeGreaterThan(5);
    } finally {
      await app.close();
    }
  });
});
