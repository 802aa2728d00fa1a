/**
 * Manipulator flapping: with a decision every second and two sensors whose mean alternates, the
 * manipulator is stopped (SIGTERM, or SIGKILL) and restarted again and again. The controller never
 * stops deciding, marks the commands it could not deliver, reconnects by itself after each return,
 * and GET /history stays a contiguous, merged, non-overlapping account of the decisions.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { bySize, mode } from './support/mode';
import { freePort, randomBetween, startServer, Telelab, withTempDir } from './support/processes';

const CYCLES = bySize({ short: 3, full: 8 });
const INTERVAL_MS = 1000;
/** Longer than the client's backoff after such a down time (< 4 s) plus an interval: each return must reconnect. */
const UP_MS = bySize<[number, number]>({ short: [6000, 7500], full: [8000, 10_000] });
const DOWN_MS = bySize<[number, number]>({ short: [2000, 3000], full: [2000, 4000] });
/** A decision's command is sent right after t_k and acknowledged within 1 s: near a stop it may go either way. */
const EDGE_MS = 1500;

interface Decision {
  decided_at: string;
  made_at: string;
  status: 'up' | 'down';
  missed: number;
  delivered: boolean | null;
  delivery_error: string | null;
}

interface Period {
  from_datetime: string;
  to_datetime: string;
  status: 'up' | 'down';
}

/** Commands one manipulator incarnation logged (pino JSON lines with the command's fields). */
function received(p: Telelab): string[] {
  return p.stdout
    .split('\n')
    .filter((l) => l.includes('Received command'))
    .map((l) => (JSON.parse(l) as { datetime: string }).datetime);
}

/** `YYYY-MM-DDTHH:MM:SS` of t_k, as the command carries it. */
const commandDatetime = (iso: string) => iso.slice(0, 19);

describe('manipulator flapping', () => {
  it(`the controller keeps deciding and reconnects through ${CYCLES} manipulator stops`, async () => {
    await withTempDir('flap', async (dir) => {
      const port = await freePort();
      const server = await startServer('flap-serve', {
        DATA_DIR: path.join(dir, 'data'),
        CONTROL_DECISION_INTERVAL: String(INTERVAL_MS / 1000),
        MANIPULATOR_HOST: '127.0.0.1',
        MANIPULATOR_PORT: String(port),
      });
      const sensor = new Telelab('sensor', [
        'sensor',
        ...['--instances', '2', '--rps', '50', '--target', server.url, '--schedule', '0:100,4:130@8'],
      ]);
      const manipulators: Telelab[] = [];
      const startManipulator = async () => {
        const m = new Telelab(`manipulator-${manipulators.length}`, [
          'manipulator',
          '--port',
          String(port),
          '--json',
        ]);
        manipulators.push(m);
        await m.waitFor(/Manipulator listening/);
        return m;
      };

      const started = new Date();
      const ups: { from: number; to: number }[] = [];
      const downs: { from: number; to: number; how: string }[] = [];
      let manipulator = await startManipulator();
      let upFrom = Date.now();
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        await sleep(randomBetween(...UP_MS));
        const how = cycle % 2 === 0 ? 'SIGTERM' : 'SIGKILL';
        const downFrom = Date.now();
        ups.push({ from: upFrom, to: downFrom });
        if (how === 'SIGTERM') await manipulator.stop();
        else await manipulator.kill();
        await sleep(randomBetween(...DOWN_MS));
        const downTo = Date.now();
        downs.push({ from: downFrom, to: downTo, how });
        manipulator = await startManipulator();
        upFrom = Date.now();
      }
      await sleep(UP_MS[0]); // the last return must reconnect too
      ups.push({ from: upFrom, to: Date.now() });
      await sleep(2 * INTERVAL_MS); // let the last commands settle (acknowledged or not)
      const ended = new Date();

      expect(sensor.alive, `sensor exited: ${sensor.stderr}`).toBe(true);
      expect(server.proc.alive, `serve exited: ${server.proc.stderr}`).toBe(true);
      // The loop goes on deciding: the newest decision's command may still be on its way when we read.
      const readAt = Date.now();
      const decisions = (await (
        await fetch(`${server.url}/decisions?order=asc&limit=10000&after=${started.toISOString()}`)
      ).json()) as Decision[];
      const first = decisions[0]!.decided_at;
      const last = decisions.at(-1)!.decided_at;
      const history = (await (
        await fetch(`${server.url}/history?after=${first}&before=${last}`)
      ).json()) as Period[];
      await sensor.stop();
      await manipulator.stop();
      await server.proc.stop();

      // 1. Deciding never stopped: one decision per interval.
      const at = decisions.map((d) => Date.parse(d.decided_at));
      const gaps = at.slice(1).map((t, k) => t - at[k]!);
      const maxGap = Math.max(...gaps);
      const missed = decisions.reduce((n, d) => n + d.missed, 0);
      const expected = Math.floor((ended.getTime() - started.getTime()) / INTERVAL_MS);

      // 2. Delivery: false while the manipulator is down, true again after each return, never stuck null.
      const madeAt = (d: Decision) => Date.parse(d.made_at);
      const inside = (t: number, w: { from: number; to: number }, lo: number, hi: number) =>
        t >= w.from + lo && t <= w.to - hi;
      const deliveredWhileDown = decisions.filter(
        (d) => d.delivered !== false && downs.some((w) => inside(madeAt(d), w, 500, 0)),
      );
      const undeliveredWhileDown = decisions.filter(
        (d) => d.delivered === false && downs.some((w) => inside(madeAt(d), w, 0, 0)),
      ).length;
      // Stuck: still unknown well after its delivery had to end (acknowledged or timed out within 1 s).
      const stillNull = decisions.filter((d) => d.delivered === null && madeAt(d) < readAt - EDGE_MS).length;
      const pendingAtRead = decisions.filter((d) => d.delivered === null).length - stillNull;
      // After the first acknowledged command of an up period, every later one (away from the stop) is too.
      let reconnected = 0;
      let droppedWhileConnected = 0;
      for (const w of ups) {
        const inUp = decisions.filter((d) => inside(madeAt(d), w, 0, EDGE_MS));
        const firstOk = inUp.findIndex((d) => d.delivered === true);
        if (firstOk === -1) continue;
        reconnected++;
        droppedWhileConnected += inUp.slice(firstOk).filter((d) => d.delivered !== true).length;
      }
      // "Delivered" means the manipulator really got it.
      const got = new Set(manipulators.flatMap(received));
      const deliveredNotReceived = decisions.filter(
        (d) => d.delivered === true && !got.has(commandDatetime(d.decided_at)),
      ).length;

      // 3. History: contiguous, non-overlapping, merged, and agreeing with every decision.
      const problems: string[] = [];
      if (history[0]?.from_datetime !== first) problems.push(`starts at ${history[0]?.from_datetime}`);
      if (history.at(-1)?.to_datetime !== last) problems.push(`ends at ${history.at(-1)?.to_datetime}`);
      history.forEach((p, k) => {
        if (Date.parse(p.from_datetime) >= Date.parse(p.to_datetime)) problems.push(`empty period ${k}`);
        const nextP = history[k + 1];
        if (nextP && nextP.from_datetime !== p.to_datetime) problems.push(`gap/overlap after period ${k}`);
        if (nextP && nextP.status === p.status) problems.push(`periods ${k}/${k + 1} not merged`);
      });
      for (const d of decisions) {
        const t = Date.parse(d.decided_at);
        if (t >= Date.parse(last)) continue;
        const p = history.find((h) => Date.parse(h.from_datetime) <= t && t < Date.parse(h.to_datetime));
        if (p?.status !== d.status)
          problems.push(`decision ${d.decided_at} ${d.status} vs history ${p?.status}`);
      }

      console.log(
        `manipulator-flapping (${mode}): cycles=${CYCLES} (${downs.map((d) => d.how).join(',')}) ` +
          `decisions=${decisions.length}/${expected} max_gap_ms=${maxGap} missed=${missed} ` +
          `undelivered_while_down=${undeliveredWhileDown} delivered_while_down=${deliveredWhileDown.length} ` +
          `reconnected=${reconnected}/${ups.length} dropped_while_connected=${droppedWhileConnected} ` +
          `delivered_not_received=${deliveredNotReceived} stuck_null=${stillNull} pending_at_read=${pendingAtRead} ` +
          `history_periods=${history.length} history_problems=${problems.length}`,
      );

      expect(decisions.length).toBeGreaterThanOrEqual(expected - 2);
      expect(maxGap, 'largest gap between decisions (ms)').toBeLessThanOrEqual(2 * INTERVAL_MS);
      expect(missed).toBe(0);
      expect(undeliveredWhileDown, 'commands marked undelivered while down').toBeGreaterThanOrEqual(CYCLES);
      expect(deliveredWhileDown.map((d) => d.decided_at)).toEqual([]);
      expect(stillNull).toBe(0);
      expect(reconnected, 'up periods in which the controller (re)connected').toBe(ups.length);
      expect(droppedWhileConnected).toBe(0);
      expect(deliveredNotReceived).toBe(0);
      expect(history.length, 'the status changed, so history has several periods').toBeGreaterThan(2);
      expect(problems.slice(0, 10)).toEqual([]);
    });
  });
});
