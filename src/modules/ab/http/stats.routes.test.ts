import { describe, expect, it } from 'vitest';
import { afterFile, buildTestApp, openTestDb } from '../../../../test/helpers';
import type { TelelabApp } from '../../../app';
import { createAbModule } from '../index';
import { admin, createExperiment, newDevices } from '../test-support';

/** The page's table body as rows of cell texts (rowspan cells appear in their first row only). */
function tableRows(html: string): string[][] {
  const body = /<tbody>([\s\S]*)<\/tbody>/.exec(html)?.[1] ?? '';
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) =>
    [...m[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]!),
  );
}

const page = (app: TelelabApp) => app.http.inject({ method: 'GET', url: '/pages/experiment-stats' });

describe('GET /pages/experiment-stats', () => {
  it('shows each experiment, its total devices, and per option the count and share', async () => {
    const db = await openTestDb();
    afterFile(() => db.close());
    const app = await buildTestApp({ db, modules: [createAbModule] });
    // Six devices walk the first six slots of the seeded decks: button_color [2,1,0] twice; price
    // [0,0,0,1,0,3,...] gives 10 four times, 20 once, 5 once.
    await newDevices(app, 6, 1);
    const res = await page(app);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(tableRows(res.body)).toEqual([
      ['button_color', 'running', '6', '#FF0000', '1', '2', '33.3%', 'p = 1.00 (too few devices to test)'],
      ['#00FF00', '1', '2', '33.3%'],
      ['#0000FF', '1', '2', '33.3%'],
      ['price', 'running', '6', '10', '75', '4', '66.7%', expect.stringMatching(/^p = /)],
      ['20', '10', '1', '16.7%'],
      ['50', '5', '0', '0.0%'],
      ['5', '10', '1', '16.7%'],
    ]);
  });

  it('sends security and cache headers', async () => {
    const app = await buildTestApp({ modules: [createAbModule] });
    const res = await page(app);
    expect(res.headers['cache-control']).toBe('public, max-age=60');
    expect(res.headers['content-security-policy']).toMatch(
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'/,
    );
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.body).not.toMatch(/<script/i);
  });

  it('escapes experiment values and shows a dash for an experiment without devices', async () => {
    const app = await buildTestApp({ modules: [createAbModule] });
    await createExperiment(app, 'markup', [
      ['<script>alert("x")</script>', 1],
      ['a&b', 1],
    ]);
    const rows = tableRows((await page(app)).body);
    const markup = rows.findIndex((r) => r[0] === 'markup');
    expect(rows[markup]!.slice(0, 7)).toEqual([
      'markup',
      'running',
      '0',
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;',
      '1',
      '0',
      '—',
    ]);
    expect(rows[markup + 1]).toEqual(['a&amp;b', '1', '0', '—']);
  });
});

describe('GET /api/v1/experiments/stats', () => {
  it('computes the SRM chi-square and flags p < 0.001 (50/30/20 against 1:1:1: X² = 14, p = e^-7)', async () => {
    const app = await buildTestApp({ modules: [createAbModule] });
    const created = await createExperiment(app, 'srm_probe', [
      ['x', 1],
      ['y', 1],
      ['z', 1],
    ]);
    expect(created.statusCode).toBe(201);
    await admin(app, 'POST', '/srm_probe/stop');
    // Counts no deck would produce, written behind the service's back: what an SRM check is for.
    await app.db.query(
      `WITH d AS (
         INSERT INTO ab.devices (token, first_seen_at)
         SELECT 'srm-device-' || i, now() FROM generate_series(0, 99) AS i
         RETURNING id, (substring(token from 12))::int AS i)
       INSERT INTO ab.assignments (device_id, experiment_id, version, k, option)
       SELECT d.id, e.id, 1, d.i, CASE WHEN d.i < 50 THEN 0 WHEN d.i < 80 THEN 1 ELSE 2 END
       FROM d, ab.experiments e WHERE e.name = 'srm_probe'`,
    );
    const res = await app.http.inject({ method: 'GET', url: '/api/v1/experiments/stats' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=60');
    const probe = res.json().experiments.find((e: { name: string }) => e.name === 'srm_probe');
    expect(probe.devices).toBe(100);
    expect(probe.options.map((o: { percent: string }) => o.percent)).toEqual(['50.0%', '30.0%', '20.0%']);
    expect(probe.srm.chi_square).toBeCloseTo(14, 9);
    expect(probe.srm.df).toBe(2);
    expect(probe.srm.p_value).toBeCloseTo(Math.exp(-7), 12);
    expect(probe.srm.mismatch).toBe(true);
    expect((await page(app)).body).toContain('sample ratio mismatch');
  });
});
