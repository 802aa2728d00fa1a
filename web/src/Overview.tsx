import { useMemo } from 'react';
import { api } from './api';
import type { PlatformRecentRatesResponse } from './api.gen';
import { Chart, type ChartSeries } from './components/Chart';
import { type Column, DataTable } from './components/DataTable';
import { Badge, Card, ErrorMessage, Loading, Stat } from './components/ui';
import { fmtNum } from './format';
import { usePoll, usePollApi, useRoutes } from './hooks';

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
const GENERATED_COLOR = '#0a3069';
const POLL_MS = 2000;

/** GET /metrics/recent: requests per second by module, one slot a second, the last 2 minutes. */
type RecentRates = PlatformRecentRatesResponse;
type Kind = keyof RecentRates['modules'][string];

/**
 * Mean of the newest few slots (0 once any slot exists, null before): the latency runner adds its
 * requests once per second, so a single one-second slot can catch zero or two of its seconds.
 */
const RECENT_SLOTS = 3;
function latest(recent: RecentRates | undefined, module: string, kind: Kind): number | null {
  if (!recent || recent.t.length === 0) return null;
  const last = recent.modules[module]?.[kind].slice(-RECENT_SLOTS) ?? [];
  return last.length ? last.reduce((s, x) => s + x, 0) / last.length : 0;
}

/** The same trailing mean along a whole series, for the chart. */
function smooth(values: number[]): number[] {
  return values.map((_, i) => {
    const window = values.slice(Math.max(0, i - RECENT_SLOTS + 1), i + 1);
    return window.reduce((s, x) => s + x, 0) / window.length;
  });
}

const sumLatest = (recent: RecentRates | undefined, kind: Kind) =>
  recent && recent.t.length > 0
    ? Object.keys(recent.modules).reduce((s, m) => s + (latest(recent, m, kind) ?? 0), 0)
    : null;

/** Modules that send load of their own (the latency module's experiments). */
const generators = (recent: RecentRates | undefined) =>
  Object.entries(recent?.modules ?? {})
    .filter(([, load]) => load.generated.some((x) => x > 0))
    .map(([name]) => name);

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
  // Served from the server's last 2 minutes, so the chart is full as soon as the page opens.
  const recentRates = usePollApi<RecentRates>('/metrics/recent', POLL_MS);
  const recent = recentRates.data;

  const { series, data } = useMemo(() => {
    const names = Object.keys(recent?.modules ?? {}).sort();
    const sending = generators(recent);
    return {
      series: [
        ...names.map((n): ChartSeries => ({ label: n, color: COLORS[n] ?? '#57606a' })),
        ...sending.map(
          (n): ChartSeries => ({ label: `${n} load generated`, color: GENERATED_COLOR, scale: 'sent' }),
        ),
      ],
      data: [
        recent?.t ?? [],
        ...names.map((n) => recent?.modules[n]?.served ?? []),
        ...sending.map((n) => smooth(recent?.modules[n]?.generated ?? [])),
      ] as [number[], ...number[][]],
    };
  }, [recent]);
  const total = sumLatest(recent, 'served');
  const generated = sumLatest(recent, 'generated');
  const rate = (head: string, kind: Kind): Column<ModuleDef> => ({
    head,
    num: true,
    cell: (m) => fmtNum(latest(recent, m.name, kind), 1),
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
    rate('served req/s', 'served'),
    rate('4xx/s', 'client_errors'),
    rate('5xx/s', 'server_errors'),
    {
      head: 'generated req/s',
      num: true,
      cell: (m) => (m.name === 'latency' ? fmtNum(latest(recent, m.name, 'generated'), 1) : '—'),
    },
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
            <Stat
              label="API requests/s"
              value={fmtNum(total, 1)}
              hint="Requests this server answered, all routes, this dashboard included"
            />
            <Stat
              label="Load generated/s"
              value={fmtNum(generated, 1)}
              hint="Requests the latency module's experiments send to their targets"
            />
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
        <ErrorMessage error={recentRates.error} what="Recent rates" />
        {recentRates.loading && !recent ? (
          <Loading />
        ) : (
          <Chart
            title="Requests per second, last 2 minutes"
            data={data}
            series={series}
            units={{ y: 'API req/s', sent: 'load generated req/s' }}
            zero={['y', 'sent']}
            xWindow={recent?.window_seconds ?? 120}
            emptyText="Collecting the first second…"
          />
        )}
      </Card>
    </div>
  );
}
