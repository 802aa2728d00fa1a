import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../../test/helpers';
import { createDevicesModule } from './index';

let app: TestApp;
beforeAll(async () => {
  app = await buildTestApp({ modules: [createDevicesModule] });
  // 23 devices; device i has i + 1 readings, the last at minute i.
  const payload = Array.from({ length: 23 }, (_, i) =>
    Array.from({ length: i + 1 }, (_, k) => ({
      device_id: `dev-${String(i).padStart(2, '0')}`,
      x: k,
      y: 0,
      z: 0,
      ts: new Date(Date.UTC(2024, 0, 1, 0, k)).toISOString(),
    })),
  ).flat();
  expect((await app.http.inject({ method: 'POST', url: '/devices/data/batch', payload })).statusCode).toBe(
    201,
  );
});

describe('GET /devices', () => {
  it('pages through every device exactly once, in id order', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const res = await app.http.inject({
        method: 'GET',
        url: `/devices?limit=10${after ? `&after=${after}` : ''}`,
      });
      expect(res.statusCode).toBe(200);
      const body: { items: { device_id: string }[]; next_after: string | null } = res.json();
      seen.push(...body.items.map((d) => d.device_id));
      after = body.next_after;
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 23 }, (_, i) => `dev-${String(i).padStart(2, '0')}`));
  });

  it('reports each device’s count and last reading time', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/devices?after=dev-04&limit=1' });
    expect(res.json()).toMatchObject({
      items: [{ device_id: 'dev-05', owner_id: null, count: 6, last_seen: '2024-01-01T00:05:00.000Z' }],
      next_after: 'dev-05',
    });
  });

  it('ends with next_after null on the last page', async () => {
    const res = await app.http.inject({ method: 'GET', url: '/devices?after=dev-20' });
    expect(res.json().items).toHaveLength(2);
    expect(res.json().next_after).toBeNull();
  });

  it('rejects a limit out of range and a malformed cursor', async () => {
    for (const q of ['limit=0', 'limit=501', 'limit=ten', 'after=a%20b']) {
      const res = await app.http.inject({ method: 'GET', url: `/devices?${q}` });
      expect(res.statusCode).toBe(400);
      expect(res.json().detail).toMatch(/querystring\.(limit|after)/);
    }
  });
});
