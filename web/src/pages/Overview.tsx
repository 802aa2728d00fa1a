import { useEffect, useMemo, useRef, useState } from 'react';
import { api, apiText } from '../api';
import { Chart, type ChartSeries } from '../components/Chart';
import { type Column, DataTable } from '../components/DataTable';
import { Badge, Card, ErrorMessage, Loading, Stat } from '../components/ui';
import { fmtNum } from '../format';
import { usePoll, usePollApi, useRoutes } from '../hooks';
import { parseMetrics, rates, sumBy } from '../metrics';

const MODULES = [
  { name: 'latency', page: '#/latency', what: 'Load and latency experiments' },
  { name: 'devices', page: '#/devices', what: 'Device telemetry and aggregates' },
  { name: 'ab', page: '#/ab', what: 'A/B assignment by Device-Token' },
  { name: 'control', page: '#/control', what: 'Sensors, t-test controller, manipulator' },
  { name: 'logs', page: '#/logs', what: 'Access-log ingest and syncers' },
];
type ModuleDef = (typeof MODULES)[number];
const COLORS: Record<string, string> = {
  latency: '#1f6feb',
  devices: '#8250df',
  ab: '#bf3989',
  control: '#1a7f37',
  logs: '#bc4c00',
  platform: '#6e7781',
};
const WINDOW_SECONDS = 120;
const POLL_MS = 2000;

interface RateRow {
  module: string;
  rps: number;
  clientErrors: number;
  serverErrors: number;
}

/** Request rates per module from the server's request-duration histogram, sampled every 2 s. */
function useModuleRates(moduleOf: ((url: string) => string | null) | null) {
  const prev = useRef<{ at: number; counts: Map<string, number> } | null>(null);
  const [rows, setRows] = useState<RateRow[]>([]);
  const [history, setHistory] = useState<{ t: number[]; byModule: Record<string, number[]> }>({
    t: [],
    byModule: {},
  });
  const metrics = usePoll((signal) => apiText('/metrics', { signal }), POLL_MS);

  useEffect(() => {
    if (!metrics.data || !moduleOf) return;
    const now = Date.now();
    const counts = sumBy(parseMetrics(metrics.data), 'http_request_duration_seconds_count', (l) => {
      const module = moduleOf(l.route ?? '') ?? 'platform';
      const status = Number(l.status_code);
      return `${module}|${status >= 500 ? '5xx' : status >= 400 ? '4xx' : 'ok'}`;
    });
    const before = prev.current;
    prev.current = { at: now, counts };
    if (!before) return;
    const r = rates(before.counts, counts, (now - before.at) / 1000);
    const byModule = new Map<string, RateRow>();
    for (const [k, v] of r) {
      const [module = 'platform', kind] = k.split('|');
      const row = byModule.get(module) ?? { module, rps: 0, clientErrors: 0, serverErrors: 0 };
      row.rps += v;
      if (kind === '4xx') row.clientErrors += v;
      if (kind === '5xx') row.serverErrors += v;
      byModule.set(module, row);
    }
    const list = [...byModule.values()].sort((a, b) => a.module.localeCompare(b.module));
    setRows(list);
    setHistory((h) => {
      const t = [...h.t, now / 1000];
      const next: Record<string, number[]> = {};
      const names = new Set([...Object.keys(h.byModule), ...list.map((x) => x.module)]);
      for (const name of names) {
        const old = h.byModule[name] ?? new Array<number>(h.t.length).fill(0);
        next[name] = [...old, byModule.get(name)?.rps ?? 0];
      }
      const drop = Math.max(0, t.length - WINDOW_SECONDS / (POLL_MS / 1000));
      for (const name of names) next[name] = next[name]!.slice(drop);
      return { t: t.slice(drop), byModule: next };
    });
  }, [metrics.data, moduleOf]);

  return { rows, history, error: metrics.error, loading: metrics.loading };
}

export function OverviewPage() {
  const { routes, error: routesError } = useRoutes();
  const ready = usePoll(async (signal) => {
    try {
      return { ok: true, body: await api<{ database: string }>('/readyz', { signal }) };
    } catch (e) {
      return { ok: false, error: e };
    }
  }, 5000);
  const health = usePollApi<{ version: string; uptime_seconds: number }>('/healthz', 10_000);
  const { rows, history, error, loading } = useModuleRates(routes?.moduleOf ?? null);

  const { series, data } = useMemo(() => {
    const names = Object.keys(history.byModule).sort();
    return {
      series: names.map((n): ChartSeries => ({ label: n, color: COLORS[n] ?? '#57606a' })),
      data: [history.t, ...names.map((n) => history.byModule[n] ?? [])] as [number[], ...number[][]],
    };
  }, [history]);
  const total = rows.reduce((s, r) => s + r.rps, 0);
  // Once rates are known, a module without traffic shows 0 rather than "unknown".
  const zero = rows.length > 0 ? 0 : null;
  const rate = (head: string, kind: 'rps' | 'clientErrors' | 'serverErrors'): Column<ModuleDef> => ({
    head,
    num: true,
    cell: (m) => fmtNum(rows.find((x) => x.module === m.name)?.[kind] ?? zero, 1),
  });
  const columns: Column<ModuleDef>[] = [
    {
      head: 'Module',
      className: 'wrap',
      cell: (m) => (
        <>
          <a href={m.page}>{m.name}</a>
          <span className="sub">{m.what}</span>
        </>
      ),
    },
    {
      head: 'Status',
      cell: (m) =>
        routes === null ? (
          '…'
        ) : routes.modules.includes(m.name) ? (
          <Badge tone="ok">served</Badge>
        ) : (
          <Badge tone="muted">not available</Badge>
        ),
    },
    rate('req/s', 'rps'),
    rate('4xx/s', 'clientErrors'),
    rate('5xx/s', 'serverErrors'),
  ];

  return (
    <div className="grid-wide">
      <div className="grid">
        <Card title="Health">
          {ready.loading ? (
            <Loading />
          ) : ready.data?.ok ? (
            <p>
              <Badge tone="ok">ready</Badge> database: {ready.data.body?.database ?? '?'}
            </p>
          ) : (
            <>
              <p>
                <Badge tone="bad">not ready</Badge>
              </p>
              <ErrorMessage error={ready.data?.error} what="Readiness" />
            </>
          )}
          <div className="stats">
            <Stat label="Version" value={health.data?.version ?? '—'} />
            <Stat label="Uptime" value={`${fmtNum(health.data?.uptime_seconds)} s`} />
            <Stat label="Requests/s" value={fmtNum(total, 1)} hint="All routes, this dashboard included" />
          </div>
          <ErrorMessage error={health.error} what="Health" />
          <p className="links">
            <a href="/docs">API documentation (/docs)</a>
            <a href="/openapi.json">OpenAPI</a>
            <a href="/metrics">Prometheus metrics</a>
          </p>
        </Card>
        <Card title="Modules">
          <ErrorMessage error={routesError} what="Route table" />
          <DataTable columns={columns} rows={MODULES} rowKey={(m) => m.name} />
          <p className="muted">
            Per-module API documentation: <a href="/docs">/docs</a> (grouped by module).
          </p>
        </Card>
      </div>
      <Card title="Request rate by module">
        <ErrorMessage error={error} what="Metrics" />
        {loading ? (
          <Loading />
        ) : (
          <Chart
            title="Requests per second, last 2 minutes"
            data={data}
            series={series}
            units={{ y: 'req/s' }}
            zero={['y']}
            xWindow={WINDOW_SECONDS}
            emptyText="Collecting a second sample…"
          />
        )}
      </Card>
    </div>
  );
}
