import { useMemo, useState } from 'react';
import { api, withQuery } from '../api';
import { Chart, type ChartBand } from '../components/Chart';
import { Badge, Card, ErrorMessage, Loading, NotAvailable, Stat } from '../components/ui';
import { fmtAgo, fmtClock, fmtNum, fmtP, fmtSig } from '../format';
import { usePoll, useRoutes, useSse } from '../hooks';

type Status = 'up' | 'down';

interface Window {
  from_datetime: string;
  to_datetime: string;
  n: number;
  mean: number | null;
  std: number | null;
}

/** GET /decisions items and the stream's `decision` / `delivery` events. */
interface Decision {
  decided_at: string;
  previous_window: Window;
  current_window: Window;
  t: number | null;
  df: number | null;
  p: number | null;
  previous_status: Status;
  status: Status;
  changed: boolean;
  reason: string;
  detail: string;
  delivered: boolean | null;
  delivery_error: string | null;
}

interface ControlStatus {
  status: Status;
  leader: { this_process: boolean; id: string | null };
  manipulator: { host: string; port: number; connected: boolean };
  interval_seconds: number;
  alpha: number;
  next_decision_at: string;
  last_decision: Decision | null;
}

interface Live {
  at: string;
  current_window: Window;
  previous_window: Window;
}

interface Period {
  from_datetime: string;
  to_datetime: string;
  status: Status;
}

const SHOWN = 200;
const LIVE_POINTS = 600;
const HISTORY_MINUTES = 15;
const secs = (iso: string) => new Date(iso).getTime() / 1000;

export function ControlPage() {
  const { routes, error: routesError } = useRoutes();
  const available = routes?.has('GET', '/decisions') ?? false;
  const hasStream = routes?.has('GET', '/control/stream') ?? false;
  const hasStatus = routes?.has('GET', '/control/status') ?? false;
  const hasHistory = routes?.has('GET', '/history') ?? false;

  // Newest first, one entry per decision time; a `delivery` event replaces its decision.
  const [streamed, setStreamed] = useState<Decision[]>([]);
  const [live, setLive] = useState<Live[]>([]);
  const upsert = (d: unknown) =>
    setStreamed((old) =>
      [d as Decision, ...old.filter((x) => x.decided_at !== (d as Decision).decided_at)].slice(0, SHOWN),
    );
  const sse = useSse(available && hasStream ? '/control/stream' : null, {
    decision: upsert,
    delivery: upsert,
    live: (l) => setLive((old) => [...old, l as Live].slice(-LIVE_POINTS)),
  });
  const streaming = sse === 'open';

  // With the stream open the list is reloaded rarely (the stream adds the rest); without it, every second.
  const decisions = usePoll(
    (signal) =>
      available
        ? api<Decision[]>(withQuery('/decisions', { limit: SHOWN }), { signal })
        : Promise.resolve([]),
    streaming ? 30_000 : 1000,
    [available, streaming],
  );
  const status = usePoll(
    (signal) => (hasStatus ? api<ControlStatus>('/control/status', { signal }) : Promise.resolve(null)),
    2000,
    [hasStatus],
  );
  const history = usePoll(
    (signal) => {
      if (!hasHistory) return Promise.resolve([]);
      const before = new Date();
      const after = new Date(before.getTime() - HISTORY_MINUTES * 60_000);
      return api<Period[]>(
        withQuery('/history', { after: after.toISOString(), before: before.toISOString() }),
        {
          signal,
        },
      );
    },
    2000,
    [hasHistory],
  );

  const rows = useMemo(() => {
    const byTime = new Map<string, Decision>();
    for (const d of decisions.data ?? []) byTime.set(d.decided_at, d);
    for (const d of streamed) byTime.set(d.decided_at, d); // the stream is newer
    return [...byTime.values()].sort((a, b) => b.decided_at.localeCompare(a.decided_at)).slice(0, SHOWN);
  }, [streamed, decisions.data]);

  // One x axis for both series: decision window means (points at each decision) and the mean of the
  // window being filled (a line, once a second from the stream).
  const chart = useMemo(() => {
    const points = new Map<number, [number | null, number | null]>();
    for (const d of rows) {
      if (d.current_window.mean !== null) points.set(secs(d.decided_at), [d.current_window.mean, null]);
    }
    for (const l of live) {
      if (l.current_window.mean === null || l.current_window.n === 0) continue;
      const x = secs(l.at);
      points.set(x, [points.get(x)?.[0] ?? null, l.current_window.mean]);
    }
    const xs = [...points.keys()].sort((a, b) => a - b);
    return [xs, xs.map((x) => points.get(x)![0]), xs.map((x) => points.get(x)![1])] as [
      number[],
      (number | null)[],
      (number | null)[],
    ];
  }, [rows, live]);

  const bands = useMemo(
    (): ChartBand[] =>
      (history.data ?? []).map((h) => ({
        from: secs(h.from_datetime),
        to: secs(h.to_datetime),
        color: h.status === 'up' ? 'rgba(45,164,78,0.15)' : 'rgba(207,34,46,0.10)',
      })),
    [history.data],
  );

  if (routesError) return <ErrorMessage error={routesError} what="Route table" />;
  if (!routes) return <Loading />;
  if (!available) return <NotAvailable what="The control module" route="GET /decisions" />;

  const st = status.data;
  const last = rows[0] ?? st?.last_decision ?? null;
  const now = live[live.length - 1];
  return (
    <div className="grid-wide">
      <div className="grid">
        <Card title="Controller">
          <ErrorMessage error={status.error} what="Status" />
          <div className="stats">
            <Stat
              label="Status"
              value={st || last ? <StatusBadge status={last?.status ?? st!.status} /> : '—'}
            />
            <Stat
              label="Manipulator"
              hint={st ? `${st.manipulator.host}:${st.manipulator.port}` : undefined}
              value={
                !st ? (
                  '—'
                ) : st.manipulator.connected ? (
                  <Badge tone="ok">connected</Badge>
                ) : st.leader.this_process ? (
                  <Badge tone="bad">disconnected</Badge>
                ) : (
                  <Badge tone="muted">held by the leader</Badge>
                )
              }
            />
            <Stat
              label="Leader"
              value={!st ? '—' : st.leader.this_process ? 'this process' : (st.leader.id ?? 'none')}
            />
            <Stat label="Last decision" value={fmtAgo(last?.decided_at)} />
            <Stat label="Interval" value={st ? `${st.interval_seconds} s` : '—'} />
          </div>
          {last && <p className="muted">{last.detail}</p>}
          <p className="muted">
            Updates:{' '}
            {streaming ? (
              <Badge tone="ok">live (SSE)</Badge>
            ) : (
              <Badge tone="muted">polling every second</Badge>
            )}
          </p>
        </Card>
        <Card title="Live windows">
          {now ? (
            <div className="table-wrap">
              <table aria-label="Live window statistics">
                <thead>
                  <tr>
                    <th>Window</th>
                    <th>From</th>
                    <th className="num">n</th>
                    <th className="num">Mean</th>
                    <th className="num">Std</th>
                  </tr>
                </thead>
                <tbody>
                  <WindowRow name="Being filled" w={now.current_window} />
                  <WindowRow name="Previous" w={now.previous_window} />
                </tbody>
              </table>
            </div>
          ) : (
            <p className="muted">
              {streaming ? 'Waiting for the first update…' : 'Live statistics need the stream.'}
            </p>
          )}
          <h3>Status timeline, last {HISTORY_MINUTES} minutes</h3>
          <ErrorMessage error={history.error} what="History" />
          <Timeline periods={history.data ?? []} />
        </Card>
      </div>
      <Card title="Window means">
        <Chart
          title="Mean payload per window; background: status up (green) / down (red)"
          data={chart}
          series={[
            { label: 'decided window', color: '#1f6feb', points: true },
            { label: 'window being filled', color: '#8c959f', spanGaps: true },
          ]}
          bands={bands}
          units={{ y: 'mean payload' }}
          emptyText="Waiting for sensor data and the first decision…"
        />
      </Card>
      <Card title="Decisions">
        <ErrorMessage error={decisions.error} what="Decisions" />
        {decisions.loading && rows.length === 0 ? (
          <Loading />
        ) : rows.length === 0 ? (
          <p className="muted">No decision yet.</p>
        ) : (
          <div className="table-wrap" style={{ maxHeight: 480 }}>
            <table aria-label="Decisions">
              <thead>
                <tr>
                  <th>Decided</th>
                  <th>Status</th>
                  <th className="num">p</th>
                  <th>Reason</th>
                  <th className="num">n prev</th>
                  <th className="num">n curr</th>
                  <th className="num">mean prev</th>
                  <th className="num">mean curr</th>
                  <th className="num">t</th>
                  <th className="num">df</th>
                  <th>Delivered</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((d) => (
                  <tr key={d.decided_at} title={d.detail}>
                    <td>{fmtClock(d.decided_at)}</td>
                    <td>
                      <StatusBadge status={d.status} /> {d.changed && <Badge tone="warn">changed</Badge>}
                    </td>
                    <td className="num">{fmtP(d.p)}</td>
                    <td>{d.reason.replaceAll('_', ' ')}</td>
                    <td className="num">{fmtNum(d.previous_window.n)}</td>
                    <td className="num">{fmtNum(d.current_window.n)}</td>
                    <td className="num">{fmtSig(d.previous_window.mean)}</td>
                    <td className="num">{fmtSig(d.current_window.mean)}</td>
                    <td className="num">{fmtSig(d.t)}</td>
                    <td className="num">{fmtSig(d.df)}</td>
                    <td title={d.delivery_error ?? undefined}>
                      {d.delivered === null ? (
                        <Badge tone="muted">in flight</Badge>
                      ) : d.delivered ? (
                        'yes'
                      ) : (
                        <Badge tone="warn">no</Badge>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
    </div>
  );
}

function StatusBadge({ status }: { status: Status }) {
  return <Badge tone={status === 'up' ? 'ok' : 'bad'}>{status}</Badge>;
}

function WindowRow({ name, w }: { name: string; w: Window }) {
  return (
    <tr>
      <th scope="row">{name}</th>
      <td>{fmtClock(w.from_datetime)}</td>
      <td className="num">{fmtNum(w.n)}</td>
      <td className="num">{fmtSig(w.mean)}</td>
      <td className="num">{fmtSig(w.std)}</td>
    </tr>
  );
}

function Timeline({ periods }: { periods: Period[] }) {
  if (periods.length === 0) return <p className="muted">No status recorded in this range.</p>;
  const start = secs(periods[0]!.from_datetime);
  const end = secs(periods[periods.length - 1]!.to_datetime);
  const total = Math.max(1e-3, end - start);
  return (
    <>
      <div
        className="timeline"
        role="img"
        aria-label={`Status periods: ${periods.map((p) => p.status).join(', ')}`}
      >
        {periods.map((p) => (
          <div
            key={p.from_datetime}
            className={p.status === 'up' ? 'tl-up' : 'tl-down'}
            style={{ width: `${((secs(p.to_datetime) - secs(p.from_datetime)) / total) * 100}%` }}
            title={`${p.status} ${fmtClock(p.from_datetime)}–${fmtClock(p.to_datetime)}`}
          />
        ))}
      </div>
      <div className="legend">
        <span>{fmtClock(periods[0]!.from_datetime)}</span>
        <span>
          <span className="swatch tl-up" /> up <span className="swatch tl-down" /> down
        </span>
        <span>{fmtClock(periods[periods.length - 1]!.to_datetime)}</span>
      </div>
      <div className="table-wrap">
        <table aria-label="Status periods">
          <thead>
            <tr>
              <th>From</th>
              <th>To</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {[...periods]
              .reverse()
              .slice(0, 8)
              .map((p) => (
                <tr key={p.from_datetime}>
                  <td>{fmtClock(p.from_datetime)}</td>
                  <td>{fmtClock(p.to_datetime)}</td>
                  <td>
                    <StatusBadge status={p.status} />
                  </td>
                </tr>
              ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
