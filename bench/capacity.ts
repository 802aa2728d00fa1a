/**
 * `npm run bench -- capacity` (or `tsx bench/capacity.ts [--window 3] [--warmup 1] [--slo p50_ms=100]`).
 * Capacity search (src/modules/latency/capacity.ts) against three targets of known capacity — N requests
 * at a time × S ms each, the rest queued, so N × 1000 / S req/s — each in its own process, so the load
 * generator does not share its event loop. Prints found vs true side by side; never asserts.
 * The default SLO is on the median (p50 ≤ 100 ms): on a shared 2-core machine a p99 of 100 ms measures
 * the machine's stalls as much as the target (a run at load average 14 found 193 of 400 req/s with
 * p99_ms=100); `--slo p99_ms=100` runs that instead.
 */
import { parseArgs } from 'node:util';
import { findCapacity, parseSlo } from '../src/modules/latency/capacity';
import { startCapacityTarget } from '../src/modules/latency/capacity-target';
import { fmt, loadAverage, log, markdownTable, startChild, withChild } from './_support';

const { values: args } = parseArgs({
  options: {
    window: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    slo: { type: 'string', multiple: true },
    'serve-target': { type: 'string' },
  },
});

/** [requests at a time, service ms]: 100, 400 and 1000 req/s. */
const TARGETS: [number, number][] = [
  [2, 20],
  [4, 10],
  [10, 10],
];

if (args['serve-target']) {
  const [concurrency, serviceMs] = args['serve-target'].split(',').map(Number) as [number, number];
  const target = await startCapacityTarget({ concurrency, serviceMs });
  process.stdout.write(`READY ${target.url}\n`);
  process.once('SIGTERM', () => void target.close().then(() => process.exit(0)));
} else {
  const slo = parseSlo(args.slo ?? ['p50_ms=100']);
  const windowSeconds = Number(args.window);
  const warmupSeconds = Number(args.warmup);
  const rows: string[][] = [];
  for (const [concurrency, serviceMs] of TARGETS) {
    const capacity = (concurrency * 1000) / serviceMs;
    log(`target ${concurrency} × ${serviceMs} ms = ${capacity} req/s`);
    const child = startChild([
      '--import',
      'tsx',
      new URL(import.meta.url).pathname,
      '--serve-target',
      `${concurrency},${serviceMs}`,
    ]);
    const t0 = performance.now();
    const r = await withChild(child, (c) =>
      findCapacity({
        target: { url: c.url },
        slo,
        startRps: 50,
        windowSeconds,
        warmupSeconds,
        precision: 0.05,
        onStep: (s) =>
          log(
            `  ${s.phase} ${s.rateRps} req/s${s.attempt > 1 ? ` (again)` : ''}: ` +
              `${s.held ? 'held' : 'failed'}  p50 ${s.latency.p50} ms  p99 ${s.latency.p99} ms`,
          ),
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const found = r.capacityRps;
    rows.push([
      `${concurrency} at a time × ${serviceMs} ms`,
      fmt(capacity),
      found === null ? 'none' : fmt(found),
      found === null ? '-' : `${fmt(((found - capacity) / capacity) * 100, 1)} %`,
      r.failedRps === null ? '-' : fmt(r.failedRps),
      String(r.steps.length),
      fmt(seconds, 1),
    ]);
  }
  const sloText = Object.entries(slo)
    .map(([k, v]) => `${k} ≤ ${v}`)
    .join(', ');
  console.log(
    `\nCapacity search, SLO ${sloText}; steps: ${warmupSeconds} s warm-up + ${windowSeconds} s window; ` +
      `precision 5 %; load average ${loadAverage()}\n`,
  );
  console.log(
    markdownTable(
      ['target', 'true req/s', 'found req/s', 'error', 'lowest failed', 'steps', 'seconds'],
      rows,
      [1, 2, 3, 4, 5, 6],
    ),
  );
}
