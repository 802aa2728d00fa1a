/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against a real server:
 * every page renders without errors at laptop and phone size, and the live parts move when the
 * system does. Screenshots go to test-artifacts/dashboard/ (gitignored) for a human to look at.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LatencyTarget, startLatencyTarget } from '../../src/modules/latency/engine/target';
import { ensureDashboardBuilt, registerDashboard } from '../../src/platform/web';
import { buildTestApp, type TestApp } from '../helpers';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`dashboard browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/dashboard/', import.meta.url));
const VIEWPORTS = {
  laptop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;
const PAGES = [
  { path: '', title: 'Overview' },
  { path: 'latency', title: 'Latency' },
  { path: 'devices', title: 'Devices' },
  { path: 'ab', title: 'A/B' },
  { path: 'control', title: 'Control' },
  { path: 'logs', title: 'Logs' },
];

// Built at collection time so that a scenario whose module has not landed yet is skipped, not failed.
const app: TestApp | null = hasChromium
  ? await buildTestApp({ env: { CONTROL_DECISION_INTERVAL: '0.5' } })
  : null;
const routeExists = (method: 'GET' | 'POST', url: string) => app?.http.hasRoute({ method, url }) ?? false;

/** Some data in every module that exists, so the pages (and screenshots) show tables and charts. */
async function seed(app: TestApp) {
  const post = async (url: string, payload: unknown) => {
    const res = await app.http.inject({ method: 'POST', url, payload: payload as object });
    return res.statusCode;
  };
  if (routeExists('POST', '/api/data')) {
    const methods = ['GET', 'POST', 'PUT', 'DELETE'];
    for (let i = 0; i < 40; i++) {
      const line = `10.0.0.${i % 250} ${methods[i % 4]} /items/${i}?page=${i % 3} ${[200, 201, 404, 500][i % 4]}`;
      expect(await post('/api/data', { log: line })).toBe(201);
    }
    expect(await post('/api/data', { log: 'not a log line' })).toBe(418);
  }
  if (routeExists('POST', '/devices/data/batch')) {
    const now = Date.now();
    const items = [];
    for (const device of ['sensor-1', 'sensor-2']) {
      for (let i = 0; i < 120; i++) {
        const t = now - (120 - i) * 29_000;
        items.push({
          device_id: device,
          x: Math.sin(i / 10) * 5,
          y: Math.cos(i / 15) * 3 + 2,
          z: i / 20 - 3,
          ts: new Date(t).toISOString(),
        });
      }
    }
    expect(await post('/devices/data/batch', items)).toBe(201);
  }
  if (routeExists('GET', '/api/v1/experiments')) {
    for (let i = 0; i < 12; i++) {
      const res = await app.http.inject({
        url: '/api/v1/experiments',
        headers: { 'device-token': `seed-device-${i}-${Date.now()}` },
      });
      expect(res.statusCode).toBe(200);
    }
  }
}

describe.skipIf(!hasChromium)('dashboard in chromium', () => {
  let base = '';
  let browser: Browser;
  let distDir = '';
  let target: LatencyTarget | null = null;

  beforeAll(async () => {
    distDir = join(await mkdtemp(join(tmpdir(), 'telelab-web-')), 'dist');
    await ensureDashboardBuilt(distDir, { log: () => {} });
    await registerDashboard(app!.http, { distDir });
    await app!.http.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app!.http.server.address() as AddressInfo).port}`;
    mkdirSync(ARTIFACTS, { recursive: true });
    await seed(app!);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await target?.close();
    if (distDir) await rm(join(distDir, '..'), { recursive: true, force: true });
  });

  /**
   * A page plus everything that went wrong in it: console errors, uncaught exceptions, 5xx answers,
   * and calls to routes the server does not have (the page should have checked first). A 4xx with a
   * domain meaning (no data in a period) is part of normal use and shown on the page instead.
   */
  async function open(path: string, viewport: keyof typeof VIEWPORTS) {
    const context = await browser.newContext({ viewport: VIEWPORTS[viewport] });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
        problems.push(`console: ${msg.text()}`);
      }
    });
    page.on('pageerror', (err) => problems.push(`exception: ${err.message}`));
    page.on('response', async (res) => {
      if (res.status() >= 500) problems.push(`${res.status()} ${res.url()}`);
      if (res.status() === 404) {
        const body = await res.json().catch(() => null);
        if (body?.code === 'ROUTE_NOT_FOUND') problems.push(`missing route ${res.url()}`);
      }
    });
    await page.goto(`${base}/#/${path}`);
    return { page, problems, close: () => context.close() };
  }

  /**
   * Waits for the page's heading and for nothing to be loading; with `pollRounds`, also for two poll
   * rounds (what a screenshot and the layout checks need). A scenario that goes on to wait for its own
   * condition does not need those.
   */
  async function settle(page: Page, title: string, problems: string[], pollRounds = true) {
    await page
      .getByRole('heading', { level: 1, name: title, exact: true })
      .waitFor({ timeout: 10_000 })
      .catch((e) => {
        throw new Error(`${title} did not render: ${problems.join('; ') || e.message}`);
      });
    await page.waitForFunction(() => document.querySelectorAll('[aria-busy="true"]').length === 0, null, {
      timeout: 15_000,
    });
    // Let two poll rounds run (rates need two samples; charts resize).
    if (pollRounds) await page.waitForTimeout(2500);
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  for (const viewport of Object.keys(VIEWPORTS) as (keyof typeof VIEWPORTS)[]) {
    it(`renders every page at ${viewport} size without errors`, async () => {
      // The pages are open side by side (each in its own context), so their settling waits overlap.
      const checked = await Promise.allSettled(
        PAGES.map(async (p) => {
          const { page, problems, close } = await open(p.path, viewport);
          try {
            await settle(page, p.title, problems);
            await shot(page, `${p.path || 'overview'}-${viewport}`);
            expect(await page.locator('[role="alert"]').allTextContents(), `alerts on ${p.title}`).toEqual(
              [],
            );
            // Nothing may overflow the viewport sideways except inside scrollable table wrappers.
            const overflow = await page.evaluate(
              () => document.documentElement.scrollWidth - window.innerWidth,
            );
            expect(overflow, `horizontal overflow on ${p.title}`).toBeLessThanOrEqual(0);
          } finally {
            await close();
          }
          expect(problems, `problems on ${p.title}`).toEqual([]);
        }),
      );
      for (const c of checked) if (c.status === 'rejected') throw c.reason;
    }, 120_000);
  }

  it('serves the dashboard with its security and cache headers', async () => {
    const res = await fetch(`${base}/`);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const asset = (await res.text()).match(/\/assets\/[^"]+\.js/)?.[0];
    expect(asset).toBeTruthy();
    const js = await fetch(`${base}${asset}`);
    expect(js.headers.get('cache-control')).toContain('immutable');
  });

  it.skipIf(!routeExists('POST', '/create_experiment'))(
    'creates and starts a latency experiment from the form and charts it live',
    async () => {
      target = await startLatencyTarget({ port: 0, delayMs: 2, jitterMs: 3 });
      const { page, problems, close } = await open('latency', 'laptop');
      await settle(page, 'Latency', problems, false);
      const form = page.getByRole('form', { name: 'New latency experiment' });
      await form.getByLabel('Name').fill('browser-run');
      await form.getByLabel('Host').fill('127.0.0.1');
      await form.getByLabel('Port').fill(String(target.port));
      await form.getByLabel('Users 1').fill('2');
      await form.getByLabel('Duration (s) 1').fill('20');
      await form.getByLabel('Interval (s) 1').fill('0.05');
      await form.getByRole('button', { name: 'Create experiment' }).click();

      const detail = page.getByRole('region', { name: 'Experiment browser-run' });
      await detail.getByText('created', { exact: true }).waitFor();
      await detail.getByRole('button', { name: 'Start' }).click();
      await detail.getByText('running', { exact: true }).waitFor();

      const chart = detail.locator('figure.chart');
      const points = async () => Number(await chart.getAttribute('data-points'));
      await expect.poll(points, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
      const before = await points();
      await expect.poll(points, { timeout: 15_000 }).toBeGreaterThan(before);
      expect(target.served).toBeGreaterThan(0);
      await shot(page, 'latency-running-laptop');

      await detail.getByRole('button', { name: 'Stop' }).click();
      await detail.getByText('stopped', { exact: true }).waitFor();
      await close();
      expect(problems).toEqual([]);
    },
    90_000,
  );

  it.skipIf(!routeExists('POST', '/tasks/recalculate'))(
    'runs a devices recalculation from the button and shows it complete',
    async () => {
      const { page, problems, close } = await open('devices', 'laptop');
      await settle(page, 'Devices', problems, false);
      await page.getByRole('button', { name: 'Recalculate all devices' }).click();
      const progress = page.getByRole('status').filter({ hasText: 'Task' });
      await progress.getByText('completed', { exact: true }).waitFor({ timeout: 20_000 });
      expect(await progress.textContent()).toContain('2 / 2 devices');
      await page.getByRole('table', { name: 'Stored all-time aggregates' }).getByText('sensor-2').waitFor();
      await shot(page, 'devices-recalculated-laptop');
      await close();
      expect(problems).toEqual([]);
    },
    60_000,
  );

  it.skipIf(!routeExists('GET', '/api/v1/experiments/stats'))(
    'shows A/B counts grow as new devices ask for their values',
    async () => {
      const { page, problems, close } = await open('ab', 'laptop');
      await settle(page, 'A/B', problems, false);
      const count = page.getByTestId('ab-devices-button_color');
      const read = async () => Number((await count.textContent())?.replaceAll(',', ''));
      const initial = await read();
      for (let i = 0; i < 30; i++) {
        const res = await fetch(`${base}/api/v1/experiments`, {
          headers: { 'device-token': `browser-test-device-${i}-${Date.now()}` },
        });
        expect(res.status).toBe(200);
      }
      await expect.poll(read, { timeout: 10_000 }).toBe(initial + 30);
      await shot(page, 'ab-after-devices-laptop');
      await close();
      expect(problems).toEqual([]);
    },
    60_000,
  );

  it.skipIf(!routeExists('GET', '/decisions') || !routeExists('POST', '/sensor-data'))(
    'shows controller decisions appear as sensor readings arrive',
    async () => {
      const { page, problems, close } = await open('control', 'laptop');
      await settle(page, 'Control', problems, false);
      // Readings every 20 ms for 2 s (four decision windows of 0.5 s) whose mean steps up halfway, so a
      // decision has data and may switch.
      const started = Date.now();
      while (Date.now() - started < 2000) {
        const mean = Date.now() - started < 1000 ? 100 : 130;
        const res = await app!.http.inject({
          method: 'POST',
          url: '/sensor-data',
          payload: {
            datetime: new Date().toISOString(),
            payload: Math.round(mean + (Math.random() - 0.5) * 20),
          },
        });
        expect(res.statusCode).toBe(200);
        await new Promise((r) => setTimeout(r, 20));
      }
      const table = page.getByRole('table', { name: 'Decisions' });
      await expect.poll(() => table.locator('tbody tr').count(), { timeout: 15_000 }).toBeGreaterThan(0);
      // A decision over windows that both hold readings shows its t-test p-value.
      await expect
        .poll(
          async () =>
            (await table.locator('tbody tr td:nth-child(3)').allTextContents()).some((p) => p !== '—'),
          {
            timeout: 15_000,
          },
        )
        .toBe(true);
      const points = Number(await page.locator('figure.chart').getAttribute('data-points'));
      expect(points).toBeGreaterThan(0);
      await shot(page, 'control-decisions-laptop');
      await close();
      expect(problems).toEqual([]);
    },
    60_000,
  );
});
