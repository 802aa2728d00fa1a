import { useState } from 'react';
import { ApiError, api, type RouteTable, withQuery } from '../../api';
import { Chart } from '../../components/Chart';
import { type Column, DataTable, selectColumn } from '../../components/DataTable';
import { Card, ErrorMessage, Loading, modulePage } from '../../components/ui';
import { fmtAgo, fmtDateTime, fmtNum, fmtSig } from '../../format';
import { usePoll, usePollApi } from '../../hooks';
import { Recalculation } from './Recalculation';
import type { Aggregates, DeviceList, DeviceRow, Series, SeriesBucket, Stat } from './types';

const PRESETS = [
  { id: '15m', label: 'Last 15 minutes', ms: 15 * 60_000 },
  { id: '1h', label: 'Last hour', ms: 3600_000 },
  { id: '24h', label: 'Last 24 hours', ms: 24 * 3600_000 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 24 * 3600_000 },
  { id: 'all', label: 'All time', ms: 0 },
  { id: 'custom', label: 'Custom', ms: 0 },
] as const;
type PresetId = (typeof PRESETS)[number]['id'];

const BUCKETS = 24;

/** `datetime-local` input value (local time) to ISO 8601 UTC, or undefined when empty. */
function localToIso(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** A period's aggregates; null when the device has no reading in it (the API's 404 DEVICES_NO_DATA). */
async function aggregates(
  id: string,
  start: string | undefined,
  end: string | undefined,
  signal: AbortSignal,
): Promise<Aggregates | null> {
  const path =
    start || end
      ? withQuery(`/devices/${encodeURIComponent(id)}/data`, { start_date: start, end_date: end })
      : `/devices/${encodeURIComponent(id)}/data/all`;
  try {
    return await api<Aggregates>(path, { signal });
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && !e.notAvailable) return null;
    throw e;
  }
}

export const DevicesPage = modulePage('The devices module', 'GET /devices', Devices);

function Devices({ routes }: { routes: RouteTable }) {
  const [selected, setSelected] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const devices = usePollApi<DeviceList>(withQuery('/devices', { limit: 500 }), 5000);

  const all = devices.data?.items ?? [];
  const rows = all.filter((d) => d.device_id.toLowerCase().includes(filter.toLowerCase()));
  const current = selected ?? all[0]?.device_id ?? null;
  const isCurrent = (d: DeviceRow) => d.device_id === current;
  const columns: Column<DeviceRow>[] = [
    selectColumn({
      head: 'Device',
      text: (d) => d.device_id,
      label: (d) => `Show device ${d.device_id}`,
      isSelected: isCurrent,
      onSelect: (d) => setSelected(d.device_id),
    }),
    { head: 'Readings', num: true, cell: (d) => fmtNum(d.count) },
    { head: 'Last seen', title: (d) => fmtDateTime(d.last_seen), cell: (d) => fmtAgo(d.last_seen) },
  ];

  return (
    <div className="split">
      <div className="stack">
        <Card title="Devices">
          <label className="field">
            Filter by id
            <input value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="device id" />
          </label>
          <ErrorMessage error={devices.error} what="Device list" />
          <DataTable
            label="Devices"
            columns={columns}
            rows={rows}
            rowKey={(d) => d.device_id}
            rowProps={(d) => ({ className: isCurrent(d) ? 'selected' : '' })}
            maxHeight={420}
            loading={devices.loading}
            empty={
              all.length > 0 ? (
                <>No device id contains “{filter}”.</>
              ) : (
                <>
                  No devices yet. Send a reading: <code>POST /devices/42/data {'{"x":1,"y":2,"z":3}'}</code>
                </>
              )
            }
          />
        </Card>
        <Recalculation canRun={routes.has('POST', '/tasks/recalculate')} />
      </div>
      {current ? <DeviceDetail id={current} /> : <Card title="Device">Select a device.</Card>}
    </div>
  );
}

function DeviceDetail({ id }: { id: string }) {
  const [preset, setPreset] = useState<PresetId>('1h');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');

  // Resolved at every load, so a relative period ("last hour") moves with the clock.
  const range = (): { start?: string; end?: string } => {
    if (preset === 'custom') return { start: localToIso(from), end: localToIso(to) };
    const ms = PRESETS.find((x) => x.id === preset)?.ms;
    return ms ? { start: new Date(Date.now() - ms).toISOString() } : {};
  };
  const live = preset !== 'custom' && preset !== 'all';
  const custom = preset === 'custom' ? range() : {};
  const invalid = Boolean(custom.start && custom.end && custom.start > custom.end);

  const agg = usePoll(
    (signal) => {
      const { start, end } = range();
      return invalid ? Promise.resolve(null) : aggregates(id, start, end, signal);
    },
    live ? 5000 : null,
    [id, preset, from, to],
  );

  // One request per refresh: every bucket of the period, empty ones included (count 0).
  const series = usePoll(
    async (signal) => {
      if (invalid) return null;
      const { start, end } = range();
      const path = withQuery(`/devices/${encodeURIComponent(id)}/series`, {
        start_date: start,
        end_date: end ?? new Date().toISOString(),
        buckets: BUCKETS,
      });
      const s = await api<Series>(path, { signal });
      if (s.buckets.every((b) => b.count === 0)) return null;
      const mid = (b: SeriesBucket) => (new Date(b.start).getTime() + new Date(b.end).getTime()) / 2000;
      return [
        s.buckets.map(mid),
        s.buckets.map((b) => b.x?.mean ?? null),
        s.buckets.map((b) => b.y?.mean ?? null),
        s.buckets.map((b) => b.z?.mean ?? null),
      ] as [number[], ...(number | null)[][]];
    },
    live ? 10_000 : null,
    [id, preset, from, to],
  );

  const a = agg.data;
  return (
    <Card title={`Device ${id}`}>
      <fieldset>
        <legend>Period</legend>
        <div className="row">
          <label className="field" style={{ maxWidth: '16rem' }}>
            Range
            <select value={preset} onChange={(e) => setPreset(e.target.value as PresetId)}>
              {PRESETS.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.label}
                </option>
              ))}
            </select>
          </label>
          {preset === 'custom' && (
            <>
              <label className="field">
                From (local time)
                <input
                  type="datetime-local"
                  step="1"
                  value={from}
                  onChange={(e) => setFrom(e.target.value)}
                />
              </label>
              <label className="field">
                To (local time)
                <input type="datetime-local" step="1" value={to} onChange={(e) => setTo(e.target.value)} />
              </label>
            </>
          )}
        </div>
      </fieldset>
      {invalid && (
        <p className="error" role="alert">
          The start of the period is after its end.
        </p>
      )}
      <ErrorMessage error={agg.error} what="Aggregates" />
      {agg.loading ? (
        <Loading />
      ) : a === null || a === undefined ? (
        <p className="muted">No readings in this period.</p>
      ) : (
        <>
          <p className="muted">
            {fmtNum(a.count)} readings from {fmtDateTime(a.period.start)} to {fmtDateTime(a.period.end)}
          </p>
          <DataTable
            label="Aggregates"
            columns={AGG_COLUMNS}
            rows={[
              {
                name: 'x + y + z',
                s: { min: a.min_value, max: a.max_value, sum: a.summation, median: a.median, count: a.count },
              },
              { name: 'x', s: a.axes.x },
              { name: 'y', s: a.axes.y },
              { name: 'z', s: a.axes.z },
            ]}
            rowKey={(r) => r.name}
          />
        </>
      )}
      <ErrorMessage error={series.error} what="Chart" />
      <Chart
        title={`Mean x, y, z per ${BUCKETS}th of the period`}
        data={series.data ?? [[], [], [], []]}
        series={[
          { label: 'x', color: '#1f6feb' },
          { label: 'y', color: '#1a7f37' },
          { label: 'z', color: '#bc4c00' },
        ]}
        units={{ y: 'mean value' }}
        emptyText={series.loading ? 'Loading…' : 'No readings in this period.'}
      />
    </Card>
  );
}

const AGG_COLUMNS: Column<{ name: string; s: Stat }>[] = [
  { head: 'Quantity', rowHeader: true, cell: (r) => r.name },
  { head: 'Count', num: true, cell: (r) => fmtNum(r.s.count) },
  { head: 'Min', num: true, cell: (r) => fmtSig(r.s.min) },
  { head: 'Max', num: true, cell: (r) => fmtSig(r.s.max) },
  // Exactly as stored (the shortest decimal that reads back as the same double), never rounded.
  { head: 'Sum', num: true, cell: (r) => String(r.s.sum) },
  { head: 'Median', num: true, cell: (r) => fmtSig(r.s.median) },
];
