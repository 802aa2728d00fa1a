/**
 * Sensor simulator throughput and CPU: `npm run bench -- control-sensor [seconds]`.
 *
 * The target is a minimal node:http server in a child process (so its CPU is not billed to the sensor)
 * answering 200 to every POST. For each rate it reports what the sensor achieved and what it cost in CPU;
 * rows differ only in rate and connection settings so they compare side by side. Never asserts on time.
 */
import { runSensors } from '../src/modules/control/cli/sensor';
import { cpuClock, startChild, withChild } from './_support';

const seconds = Number(process.argv[2] ?? 5);

const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end('{"accepted":true}'); });
});
server.keepAliveTimeout = 30000;
server.listen(0, '127.0.0.1', () => process.stdout.write('READY http://127.0.0.1:' + server.address().port + '\\n'));
`;

interface Row {
  instances: number;
  rps: number;
  pipelining: number;
}

const rows: Row[] = [
  { instances: 8, rps: 300, pipelining: 1 },
  { instances: 8, rps: 1250, pipelining: 1 },
  { instances: 8, rps: 2500, pipelining: 1 },
  { instances: 8, rps: 2500, pipelining: 4 },
  { instances: 8, rps: 4000, pipelining: 4 },
];

const table: Record<string, string | number>[] = [];
await withChild(startChild(['-e', SERVER]), async ({ url: target }) => {
  for (const row of rows) {
    const cpuUs = cpuClock();
    const t0 = performance.now();
    const r = await runSensors({
      ...row,
      target,
      mean: 100,
      std: 10,
      seed: 1,
      durationMs: seconds * 1000,
    });
    const wallMs = performance.now() - t0;
    const cpuMs = cpuUs() / 1000;
    table.push({
      'target/s': r.targetRps,
      pipelining: row.pipelining,
      'achieved/s': Math.round(r.achievedRps),
      ok: r.ok,
      'errors+http': r.errors + r.httpErrors,
      late: r.late,
      'max lag ms': Math.round(r.maxLagMs),
      unsent: r.unsent,
      'sensor CPU %': Math.round((cpuMs / wallMs) * 100),
      'CPU µs/req': r.sent ? Math.round((cpuMs * 1000) / r.sent) : 0,
    });
  }
});
console.log(`sensor simulator, ${seconds} s per row, 1 core = 100 %`);
console.table(table);
