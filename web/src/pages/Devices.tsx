import { useState } from 'react';
import { ApiError, api, withQuery } from '../api';
import { Chart } from '../components/Chart';
import { Badge, Card, ErrorMessage, Loading, NotAvailable } from '../components/ui';
import { fmtAgo, fmtDateTime, fmtNum, fmtSig } from '../format';
import { usePoll, useRoutes } from '../hooks';

interface Stat {
  min: number;
  max: number;
  sum: number;
  median: number;
  count: number;
}

interface Aggregates {
  device_id: string;
  min_value: number;
  max_value: number;
  count: number;
  summation: number;
  median: number;
  axes: { x: Stat; y: Stat; z: Stat };
  period: { start: string; end: string };
}

interface DeviceRow {
  device_id: string;
  owner_id: number | null;
  registered_at: string;
  last_seen: string | null;
  count: number;
}

interface Task {
  task_id: string;
  status: 'queued' | 'running' | 'completed' | 'failed';
  progress: { done: number; total: number };
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
}

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

const enc = encodeURIComponent;

/** A period's aggregates; null when the device has no reading in it (the API's 404 DEVICES_NO_DATA). */
async function aggregates(
  id: string,
  start: string | undefined,
  end: string | undefined,
  signal: AbortSignal,
): Promise<Aggregates | null> {
  const path =
    start || end
      ? withQuery(`/devices/${enc(id)}/data`, { start_date: start, end_date: end })
      : `/devices/${enc(id)}/data/all`;
  try {
    return await api<Aggregates>(path, { signal });
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && !e.notAvailable) return null;
    throw e;
  }
}

/** Runs `fns` at most `n` at a time, results in order. */
async function limited<T>(fns: (() => Promise<T>)[], n: number): Promise<T[]> {
  const out = new Array<T>(fns.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, fns.length) }, async () => {
      while (next < fns.length) {
        const i = next++;
        out[i] = await fns[i]!();
      }
    }),
  );
  return out;
}

export function DevicesPage() {
  const { routes, error: routesError } = useRoutes();
  const available = routes?.has('GET', '/devices') ?? false;
  const [selected, setSelected] = useState<string | null>(null);
  const [filter, setFilter] = useState('');
  const devices = usePoll(
    (signal) =>
      available
        ? api<{ items: DeviceRow[] }>(withQuery('/devices', { limit: 500 }), { signal }).then((p) => p.items)
        : Promise.resolve([]),
    5000,
    [available],
  );

  if (routesError) return <ErrorMessage error={routesError} what="Route table" />;
  if (!routes) return <Loading />;
  if (!available) return <NotAvailable what="The devices module" route="GET /devices" />;

  const rows = (devices.data ?? []).filter((d) => d.device_id.toLowerCase().includes(filter.toLowerCase()));
  const current = selected ?? devices.data?.[0]?.device_id ?? null;

  return (
    <div className="split">
      <div className="stack">
        <Card title="Devices">
          <label className="field">
            Filter by id
            <input value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="device id" />
          </label>
          <ErrorMessage error={devices.error} what="Device list" />
          {devices.loading ? (
            <Loading />
          ) : rows.length === 0 ? (
            <p className="muted">
              No devices yet. Send a reading: <code>POST /devices/42/data {'{"x":1,"y":2,"z":3}'}</code>
            </p>
          ) : (
            <div className="table-wrap" style={{ maxHeight: 420 }}>
              <table aria-label="Devices">
                <thead>
                  <tr>
                    <th>Device</th>
                    <th className="num">Readings</th>
                    <th>Last seen</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((d) => (
                    <tr key={d.device_id} className={d.device_id === current ? 'selected' : ''}>
                      <td>
                        <button
                          type="button"
                          className="icon"
                          onClick={() => setSelected(d.device_id)}
                          aria-pressed={d.device_id === current}
                          aria-label={`Show device ${d.device_id}`}
                        >
                          {d.device_id}
                        </button>
                      </td>
                      <td className="num">{fmtNum(d.count)}</td>
                      <td title={fmtDateTime(d.last_seen)}>{fmtAgo(d.last_seen)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
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

  const series = usePoll(
    async (signal) => {
      if (invalid) return null;
      const { start, end } = range();
      const endMs = end ? new Date(end).getTime() : Date.now();
      let startMs = start ? new Date(start).getTime() : Number.NaN;
      if (Number.isNaN(startMs)) {
        const all = await aggregates(id, undefined, end, signal);
        if (!all) return null;
        startMs = new Date(all.period.start).getTime();
      }
      const step = Math.max(1, Math.ceil((endMs - startMs + 1) / BUCKETS));
      const buckets = Array.from({ length: BUCKETS }, (_, i) => startMs + i * step);
      const results = await limited(
        buckets.map(
          (b) => () =>
            aggregates(
              id,
              new Date(b).toISOString(),
              new Date(Math.min(b + step - 1, endMs)).toISOString(),
              signal,
            ),
        ),
        6,
      );
      const mean = (a: Aggregates | null, axis: 'x' | 'y' | 'z') =>
        a && a.count > 0 ? a.axes[axis].sum / a.count : null;
      return [
        buckets.map((b) => (b + step / 2) / 1000),
        results.map((a) => mean(a, 'x')),
        results.map((a) => mean(a, 'y')),
        results.map((a) => mean(a, 'z')),
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
          <div className="table-wrap">
            <table aria-label="Aggregates">
              <thead>
                <tr>
                  <th>Quantity</th>
                  <th className="num">Count</th>
                  <th className="num">Min</th>
                  <th className="num">Max</th>
                  <th className="num">Sum</th>
                  <th className="num">Median</th>
                </tr>
              </thead>
              <tbody>
                <AggRow
                  name="x + y + z"
                  s={{
                    min: a.min_value,
                    max: a.max_value,
                    sum: a.summation,
                    median: a.median,
                    count: a.count,
                  }}
                />
                <AggRow name="x" s={a.axes.x} />
                <AggRow name="y" s={a.axes.y} />
                <AggRow name="z" s={a.axes.z} />
              </tbody>
            </table>
          </div>
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

function AggRow({ name, s }: { name: string; s: Stat }) {
  return (
    <tr>
      <th scope="row">{name}</th>
      <td className="num">{fmtNum(s.count)}</td>
      <td className="num">{fmtSig(s.min)}</td>
      <td className="num">{fmtSig(s.max)}</td>
      <td className="num">{fmtSig(s.sum)}</td>
      <td className="num">{fmtSig(s.median)}</td>
    </tr>
  );
}

function Recalculation({ canRun }: { canRun: boolean }) {
  const [taskId, setTaskId] = useState<string | null>(null);
  const [startError, setStartError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const task = usePoll(
    (signal) => (taskId ? api<Task>(`/tasks/${enc(taskId)}`, { signal }) : Promise.resolve(null)),
    1000,
    [taskId],
  );
  const done = task.data?.status === 'completed' || task.data?.status === 'failed';
  const stored = usePoll(
    (signal) =>
      api<{ items: (Aggregates & { computed_at: string })[] }>(
        withQuery('/devices/aggregates', { limit: 100 }),
        {
          signal,
        },
      ).then((p) => p.items),
    null,
    [done],
  );

  const start = async () => {
    setBusy(true);
    setStartError(null);
    try {
      setTaskId((await api<Task>('/tasks/recalculate', { method: 'POST' })).task_id);
    } catch (e) {
      setStartError(e);
    } finally {
      setBusy(false);
    }
  };

  const t = task.data;
  return (
    <Card
      title="Stored aggregates"
      actions={
        <button
          type="button"
          className="primary"
          onClick={start}
          disabled={!canRun || busy || (!!t && !done)}
        >
          Recalculate all devices
        </button>
      }
    >
      <ErrorMessage error={startError} what="Recalculation" />
      {t && (
        <div role="status" aria-live="polite">
          <p>
            Task <code>{t.task_id.slice(0, 8)}</code>:{' '}
            <Badge tone={t.status === 'completed' ? 'ok' : t.status === 'failed' ? 'bad' : 'info'}>
              {t.status}
            </Badge>{' '}
            {fmtNum(t.progress.done)} / {fmtNum(t.progress.total)} devices
          </p>
          <progress
            aria-label="Recalculation progress"
            max={Math.max(1, t.progress.total)}
            value={t.status === 'completed' ? Math.max(1, t.progress.total) : t.progress.done}
          />
          {t.error && <p className="error">{t.error}</p>}
        </div>
      )}
      <ErrorMessage error={task.error} what="Task" />
      <ErrorMessage error={stored.error} what="Stored aggregates" />
      {(stored.data ?? []).length === 0 ? (
        <p className="muted">
          Nothing stored yet; a recalculation stores every device’s all-time aggregates.
        </p>
      ) : (
        <div className="table-wrap" style={{ maxHeight: 320 }}>
          <table aria-label="Stored all-time aggregates">
            <thead>
              <tr>
                <th>Device</th>
                <th className="num">Count</th>
                <th className="num">Median</th>
                <th>Computed</th>
              </tr>
            </thead>
            <tbody>
              {(stored.data ?? []).map((s) => (
                <tr key={s.device_id}>
                  <td>{s.device_id}</td>
                  <td className="num">{fmtNum(s.count)}</td>
                  <td className="num">{fmtSig(s.median)}</td>
                  <td>{fmtAgo(s.computed_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
