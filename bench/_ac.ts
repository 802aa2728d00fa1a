import { createRequire } from 'node:module';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app';
import { createControlModule } from '../src/modules/control';
import { loadConfig } from '../src/platform/config';
import { createLogger } from '../src/platform/logger';
const autocannon = createRequire(import.meta.url)('autocannon');
const dir = await mkdtemp(join(tmpdir(), 'ac-'));
const env: Record<string, string> = process.env.PGURL ? { DATABASE_URL: process.env.PGURL, DB_POOL_SIZE: '20' } : { DATA_DIR: dir };
const app = await createApp({ config: loadConfig({ LOG_LEVEL: 'warn', CONTROL_ENABLED: 'false', ...env }), logger: createLogger('warn'), modules: [createControlModule] });
app.http.post('/echo', async () => ({ accepted: true }));
const base = await app.http.listen({ port: 0, host: '127.0.0.1' });
const body = JSON.stringify({ datetime: new Date(Date.now() + 30 * 60_000).toISOString().slice(0, 19), payload: 104 });
for (const path of (process.env.PATHS ?? '/echo,/sensor-data').split(',')) {
  const cpu0 = process.cpuUsage(); const t0 = Date.now();
  const r = await autocannon({ url: base + path, connections: 64, duration: 5, workers: 1, method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const cpu = process.cpuUsage(cpu0); const wall = Date.now() - t0;
  console.log(path, Math.round(r['2xx'] / r.duration), 'req/s', 'non2xx', r.non2xx, 'p50', r.latency.p50, 'p99', r.latency.p99, 'server CPU', Math.round((cpu.user + cpu.system) / 10 / wall), '%', 'µs/req', Math.round((cpu.user + cpu.system) / r['2xx']));
}
await app.close();
