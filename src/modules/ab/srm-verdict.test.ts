/** One SRM rule for the stats page, its JSON and the dashboard: "too few devices to test" below the threshold. */
import { describe, expect, it } from 'vitest';
import { buildTestApp } from '../../../test/helpers';
import { createAbModule } from './index';
import { experimentStats, srmVerdict } from './sample-ratio';
import { colours, createExperiment, newDevices } from './test-support';

const v1 = [{ experimentId: 1, version: 1, weights: [1, 1, 1] }];
const counts = (perOption: number[]) =>
  perOption.map((devices, option) => ({ experimentId: 1, version: 1, option, devices }));
const verdictOf = (perOption: number[]) => srmVerdict(experimentStats(colours, v1, counts(perOption)));

describe('srmVerdict', () => {
  it('with 0 devices: too few devices to test, and no p-value', () => {
    expect(verdictOf([])).toEqual({
      verdict: 'too_few_devices',
      summary: 'too few devices to test (none yet)',
    });
  });

  it('below 5 expected devices per option: too few devices to test, whatever p says', () => {
    // 12 devices, 4 expected per option; 12/0/0 has p = e^-12 but the test is not valid yet.
    expect(verdictOf([12, 0, 0])).toEqual({
      verdict: 'too_few_devices',
      summary: `p = ${Math.exp(-12).toPrecision(3)} (too few devices to test)`,
    });
  });

  it('at 5 expected devices per option the test is made: 5/5/5 has p = 1', () => {
    expect(verdictOf([5, 5, 5])).toEqual({
      verdict: 'no_mismatch',
      summary: 'p = 1.00, no sample ratio mismatch',
    });
  });

  it('flags 50/30/20 against 1:1:1 (X² = 14, p = e^-7 < 0.001)', () => {
    expect(verdictOf([50, 30, 20])).toEqual({
      verdict: 'mismatch',
      summary: `p = ${Math.exp(-7).toPrecision(3)} — sample ratio mismatch`,
    });
  });
});

describe('the same verdict on the page and in the JSON', () => {
  it('for an experiment without devices and one with too few', async () => {
    const app = await buildTestApp({ modules: [createAbModule] });
    await createExperiment(app, 'untouched', [
      ['a', 1],
      ['b', 1],
    ]);
    const json = (await app.http.inject({ url: '/api/v1/experiments/stats' })).json();
    const before = json.experiments.find((e: { name: string }) => e.name === 'untouched');
    expect(before.srm).toMatchObject({
      verdict: 'too_few_devices',
      summary: 'too few devices to test (none yet)',
    });
    expect(json.srm_min_expected).toBe(5);

    await newDevices(app, 4, 1);
    const after = (await app.http.inject({ url: '/api/v1/experiments/stats' })).json();
    const page = (await app.http.inject({ url: '/pages/experiment-stats' })).body;
    for (const e of after.experiments as {
      name: string;
      devices: number;
      srm: { verdict: string; summary: string };
    }[]) {
      expect(e.devices).toBe(4);
      expect(e.srm.verdict, e.name).toBe('too_few_devices');
      expect(page).toContain(`>${e.srm.summary}</td>`);
    }
  });
});
