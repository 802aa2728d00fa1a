/** The period of a replay: which decision times it covers, checked against the retention and the cap. */
import { invalidInput } from '../../platform/errors';
import type { ReplayRequest } from './replay.service';
import { currentWindowStart } from './windows';

const iso = (d: Date | number) => new Date(d).toISOString();

/**
 * Validates a replay's period against the retention and the cap; returns its first and last decision
 * times (ms) and its end, capped at the last decision time.
 */
export function replayPeriod(
  req: Pick<ReplayRequest, 'from' | 'to' | 'stationary'>,
  limits: { now: number; intervalMs: number; retentionMs: number; maxDecisions: number },
): { first: number; last: number; to: Date } {
  const I = limits.intervalMs;
  const lastDecided = currentWindowStart(limits.now, I).getTime();
  // The leader keeps readings from (decision time - retention); a decision needs two windows before it.
  const earliest = lastDecided - limits.retentionMs + 2 * I;
  const seconds = limits.retentionMs / 1000;
  if (req.from.getTime() < earliest) {
    throw invalidInput(
      'from',
      `readings are kept for ${seconds} s (CONTROL_RETENTION), so the earliest replayable decision ` +
        `time is ${iso(earliest)}; got ${iso(req.from)}`,
      'CONTROL_REPLAY_OUTSIDE_RETENTION',
    );
  }
  if (req.from.getTime() > lastDecided) {
    throw invalidInput(
      'from',
      `must not be later than the last decision time ${iso(lastDecided)}; got ${iso(req.from)}`,
      'CONTROL_REPLAY_OUTSIDE_RETENTION',
    );
  }
  // A period reaching into the future ends at the last decision time: later windows are not closed.
  const to = new Date(Math.min(req.to.getTime(), lastDecided));
  const first = Math.ceil(req.from.getTime() / I) * I;
  const last = Math.floor(to.getTime() / I) * I;
  if (last < first) {
    throw invalidInput(
      'to',
      `the period holds no decision time (decisions are at multiples of ${I / 1000} s)`,
      'CONTROL_REPLAY_INVALID_PERIOD',
    );
  }
  const count = (last - first) / I + 1;
  if (count > limits.maxDecisions) {
    throw invalidInput(
      'to',
      `the period holds ${count} decision times; at most ${limits.maxDecisions} per replay ` +
        `(${(limits.maxDecisions * I) / 1000} s at this interval): shorten it`,
      'CONTROL_REPLAY_TOO_LONG',
    );
  }
  const st = req.stationary;
  if (st) {
    // The first decision reads the two windows before it: they belong to the replayed data too.
    const dataStart = first - 2 * I;
    if (st.from.getTime() < dataStart || st.from.getTime() >= to.getTime()) {
      throw invalidInput(
        'stationary.from',
        `must lie within the replayed windows [${iso(dataStart)}, ${iso(to)})`,
        'CONTROL_REPLAY_INVALID_STATIONARY',
      );
    }
    if (st.to.getTime() <= st.from.getTime() || st.to.getTime() > to.getTime()) {
      throw invalidInput(
        'stationary.to',
        `must be after stationary.from and not after the period end ${iso(to)}`,
        'CONTROL_REPLAY_INVALID_STATIONARY',
      );
    }
    if (stationaryDecisionTimes(st, first, last, I).length === 0) {
      throw invalidInput(
        'stationary',
        `no decision has both its windows inside it; make it at least ${(3 * I) / 1000} s long`,
        'CONTROL_REPLAY_INVALID_STATIONARY',
      );
    }
  }
  return { first, last, to };
}

/** Decision times in [first, last] whose windows [t - 2I, t) lie inside the stationary period. */
export function stationaryDecisionTimes(
  st: { from: Date; to: Date },
  first: number,
  last: number,
  I: number,
): number[] {
  const out: number[] = [];
  const start = Math.max(first, Math.ceil((st.from.getTime() + 2 * I) / I) * I);
  for (let t = start; t <= Math.min(last, st.to.getTime()); t += I) out.push(t);
  return out;
}
