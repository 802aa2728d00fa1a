/**
 * The latency page of a capacity experiment in a real browser: the steps of a finished search against
 * a target of known capacity are charted (rate tried, held or failed, and p99) and listed, at laptop
 * and phone size, without errors. Screenshots go to test-artifacts/dashboard/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CapacityTarget, startCapacityTarget } from '../../src/modules/latency/capacity-target';
import { ensureDashboardBuilt, registerDashboard } from '../../src/platform/web';
import { buildTestApp, type TestApp } from '../helpers';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/dashboard/', import.meta.url));

describe.skipIf(!hasChromium)('latency page: a capacity experiment', () => {
  let app: TestApp;
  let base = '';
  let browser: Browser;
  let distDir = '';
  let target: CapacityTarget;
  let steps = 0;

  beforeAll(async () => {
    app = await buildTestApp({ env: { LATENCY_MAX_RATE: '1000' } });
    distDir = join(await mkdtemp(join(tmpdir(), 'telelab-web-')), 'dist');
    await ensureDashboardBuilt(distDir, { log: () => {} });
    await registerDashboard(app.http, { distDir });
    await app.http.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.http.server.address() as AddressInfo).port}`;
    mkdirSync(ARTIFACTS, { recursive: true });

    // 2 requests at a time × 10 ms = 200 req/s: a search from 40 req/s, 0.5 s a step, ends in a few
    // seconds. (How close it gets is capacity.experiments.test.ts's business; this page lists the steps.)
    target = await startCapacityTarget({ concurrency: 2, serviceMs: 10 });
    const created = await app.http.inject({
      method: 'POST',
      url: '/create_experiment',
      payload: {
        name: 'capacity-search',
        host: '127.0.0.1',
        port: Number(new URL(target.url).port),
        path: '/',
        model: 'capacity',
        slo: { p50_ms: 50, error_rate: 1 },
        search: { start_rps: 40, window_seconds: 0.5, warmup_seconds: 0, attempts: 1, precision: 0.1 },
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().experiment_id as string;
    const started = await app.http.inject({
      method: 'POST',
      url: `/manage_experiment?state=start&experiment_id=${id}`,
    });
    expect(started.statusCode).toBe(200);
    for (let i = 0; i < 600; i++) {
      const r = (await app.http.inject({ url: `/result_experiment?experiment_id=${id}&limit=0` })).json();
      if (r.finished_at) {
        steps = r.capacity.steps.length;
        break;
      }
      await sleep(100);
    }
    expect(steps).toBeGreaterThanOrEqual(5);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await target?.close();
    if (distDir) await rm(join(distDir, '..'), { recursive: true, force: true });
  });

  for (const [viewport, size] of [
    ['laptop', { width: 1280, height: 800 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    it(`charts and lists the steps at ${viewport} size`, async () => {
      const context = await browser.newContext({ viewport: size });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
      page.on('response', (res) => {
        if (res.status() >= 500) problems.push(`${res.status()} ${res.url()}`);
      });
      await page.goto(`${base}/#/latency`);
      const detail = page.getByRole('region', { name: 'Experiment capacity-search' });
      await detail.getByText('completed', { exact: true }).waitFor({ timeout: 15_000 });
      const chart = detail.locator('figure.chart');
      await expect.poll(async () => Number(await chart.getAttribute('data-points'))).toBe(steps);
      await expect(chart.locator('figcaption').textContent()).resolves.toMatch(/^Capacity search/);
      const rows = detail.getByRole('table', { name: 'Capacity steps' }).locator('tbody tr');
      await expect.poll(() => rows.count()).toBe(steps);
      expect(await detail.getByText('req/s', { exact: false }).first().isVisible()).toBe(true);
      await page.waitForTimeout(500);
      await page.screenshot({ path: join(ARTIFACTS, `latency-capacity-${viewport}.png`), fullPage: true });
      expect(await page.locator('[role="alert"]').allTextContents()).toEqual([]);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(0);
      await context.close();
      expect(problems).toEqual([]);
    }, 60_000);
  }

  it('the form creates a capacity experiment from an SLO, and names a missing one', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${base}/#/latency`);
    const form = page.getByRole('form', { name: 'New latency experiment' });
    await form.getByLabel('Name').fill('capacity-form');
    await form.getByLabel('Port').fill(new URL(target.url).port);
    await form.getByLabel('Model').selectOption('capacity');
    expect(await form.getByLabel('Users 1').count()).toBe(0);
    await form.getByRole('button', { name: 'Create experiment' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toMatch(/body\.slo/);
    await form.getByLabel('p99 at most (ms)').fill('100');
    await form.getByRole('button', { name: 'Create experiment' }).click();
    const detail = page.getByRole('region', { name: 'Experiment capacity-form' });
    await detail.getByText('created', { exact: true }).waitFor();
    await detail.getByText('Start the experiment to search.').waitFor();
    await context.close();
  }, 60_000);
});
