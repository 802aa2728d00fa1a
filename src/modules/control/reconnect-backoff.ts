/** Reconnect delays: exponential growth up to a cap, with "equal jitter" (half fixed, half random). */
export interface BackoffOptions {
  /** First reconnect delay (default 100 ms). */
  initialMs?: number;
  /** Cap on the delay (default 5000 ms: at most about one decision interval without a link). */
  maxMs?: number;
  /** Growth per failed attempt (default 2). */
  factor?: number;
  /** Source of the jitter (default Math.random). */
  random?: () => number;
}

export function reconnectBackoff(opts: BackoffOptions = {}) {
  const { initialMs, maxMs, factor, random } = {
    initialMs: 100,
    maxMs: 5000,
    factor: 2,
    random: Math.random,
    ...opts,
  };
  let attempt = 0;
  return {
    /** The delay before the next attempt, and that attempt's number (1 after a reset). */
    next(): { attempt: number; delayMs: number } {
      const base = Math.min(maxMs, initialMs * factor ** attempt);
      attempt++;
      // Half random so that many controllers do not reconnect in lockstep.
      return { attempt, delayMs: Math.round(base / 2 + (random() * base) / 2) };
    },
    reset(): void {
      attempt = 0;
    },
  };
}
