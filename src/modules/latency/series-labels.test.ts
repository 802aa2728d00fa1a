/**
 * Every series point carries the profile its requests were sent in, also when they end after their
 * profile did: per-profile sums of the series equal each profile's requests, and no point is labelled
 * with a profile that does not exist. The target answers slowly so that requests straddle each boundary.
 */
import { describe, expect, it } from 'vitest';
import { LoadRun, type LoadStage, type SecondBucket } from './engine';
import { startLatencyTarget } from './engine/target';
import { appWithTarget, experimentBody, inState, result, startExperiment, waitFor } from './test-support';

const { target, app } = await appWithTarget(startLatencyTarget({ port: 0, delayMs: 700 }));

const perStage = (points: { stage: number; requests: number }[]) => {
  const sums: Record<number, number> = {};
  for (const p of points) sums[p.stage] = (sums[p.stage] ?? 0) + p.requests;
  return sums;
};

async function seconds(model: 'closed' | 'arrival-rate', stages: LoadStage[]): Promise<SecondBucket[]> {
  const out: SecondBucket[] = [];
  const r = new LoadRun({ target: { url: target.latencyUrl }, stages, model });
  r.on('second', (b) => out.push(b));
  await r.start();
  return out;
}

describe('series labels at profile boundaries', () => {
  it('closed: requests answered after their profile ended count in that profile', async () => {
    // Each user sends once at its profile's start (the interval outlasts the profile); every answer of
    // profile 0 (2 users) arrives 400 ms into profile 1 (3 users).
    const points = await seconds('closed', [
      { users: 2, durationSeconds: 0.3, intervalSeconds: 30 },
      { users: 3, durationSeconds: 1.5, intervalSeconds: 30 },
    ]);
    expect(points.every((p) => p.stageIndex === 0 || p.stageIndex === 1)).toBe(true);
    expect(perStage(points.map((p) => ({ stage: p.stageIndex, requests: p.requests })))).toEqual({
      0: 2,
      1: 3,
    });
  });

  it('arrival-rate: 10 requests in profile 0 and 5 in profile 1, whenever they are answered', async () => {
    const points = await seconds('arrival-rate', [
      { users: 1, durationSeconds: 0.5, intervalSeconds: 0.05 },
      { users: 1, durationSeconds: 0.5, intervalSeconds: 0.1 },
    ]);
    expect(points.every((p) => p.stageIndex === 0 || p.stageIndex === 1)).toBe(true);
    expect(perStage(points.map((p) => ({ stage: p.stageIndex, requests: p.requests })))).toEqual({
      0: 10,
      1: 5,
    });
  });

  it('result_experiment: series[].profile_index is in range and sums to each profile', async () => {
    const id = await startExperiment(
      app,
      experimentBody(target.port, [
        { users: 2, duration_seconds: 0.3, interval_seconds: 30 },
        { users: 3, duration_seconds: 1.5, interval_seconds: 30 },
      ]),
    );
    await waitFor(app, id, inState('completed'));
    const r = await result(app, id);
    expect(r.summary.requests).toBe(5);
    expect(r.series.every((p) => p.profile_index === 0 || p.profile_index === 1)).toBe(true);
    expect(perStage(r.series.map((p) => ({ stage: p.profile_index, requests: p.requests })))).toEqual({
      0: 2,
      1: 3,
    });
    expect(r.current_profile_index).toBe(1);
  });
});
