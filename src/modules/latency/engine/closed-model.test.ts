import { describe, expect, it } from 'vitest';
import { ClosedModel, START_BATCH } from './closed-model';
import type { Exchange } from './exchange';
import type { Http1Pool } from './http1';
import { initialRunState } from './run-state';

/** A pool that only counts what it is given (no sockets). */
function countingPool() {
  const sent: Exchange[] = [];
  return { sent, pool: { dispatch: (x: Exchange) => sent.push(x) } as unknown as Http1Pool };
}
const owner = { sendClosed: () => {}, complete: () => {} };
const turn = () => new Promise((r) => setImmediate(r));

describe('ClosedModel.enterStage', () => {
  const stage = { users: 2 * START_BATCH + 500, durationSeconds: 10, intervalSeconds: 1 };

  it('starts a stage of many users a batch per turn of the event loop, every user once', async () => {
    const s = { ...initialRunState(), state: 'running' as const };
    const { sent, pool } = countingPool();
    new ClosedModel(s, [stage], pool, owner).enterStage(stage);
    // Other work (a signal, a timer) runs between batches.
    expect(sent).toHaveLength(START_BATCH);
    await turn();
    expect(sent).toHaveLength(2 * START_BATCH);
    await turn();
    await turn();
    expect(sent).toHaveLength(stage.users);
    expect(new Set(sent).size).toBe(stage.users);
    expect(s.inFlight).toBe(stage.users);
  });

  it('starts no further batch once the run is finishing or the next stage began', async () => {
    for (const end of [
      (s: { finishing: boolean }) => (s.finishing = true),
      (s: { generation: number }) => s.generation++,
    ]) {
      const s = { ...initialRunState(), state: 'running' as const };
      const { sent, pool } = countingPool();
      new ClosedModel(s, [stage], pool, owner).enterStage(stage);
      end(s);
      await turn();
      await turn();
      await turn();
      expect(sent).toHaveLength(START_BATCH);
    }
  });
});
