import { useMemo, useState } from 'react';
import { api, withQuery } from '../api';
import { Chart, type ChartBand } from '../components/Chart';
import { Badge, Card, ErrorMessage, Loading, NotAvailable, Stat } from '../components/ui';
import { fmtAgo, fmtNum, fmtP, fmtSig, fmtTime } from '../format';
import { usePoll, useRoutes, useSse } from '../hooks';
import { bool, field, isObj, type Json, list, num, str } from '../read';

/** One decision as the page needs it, read tolerantly from GET /decisions or the stream. */
interface DecisionRow {
  key: string;
  at: string | null;
  windowStart: string | null;
  windowEnd: string | null;
  prevN: number | null;
  prevMean: number | null;
  currN: number | null;
  currMean: number | null;
  t: number | null;
  df: number | null;
  p: number | null;
  status: string | null;
  changed: boolean | null;
  reason: string | null;
  detail: string | null;
  delivered: boolean | null;
}

function readDecision(d: Json): DecisionRow {
  const at = str(d, 'decided_at', 'decidedAt', 'datetime', 'at', 'created_at', 'time', 'window.end', 'curr.end');
  return {
    key: str(d, 'id') ?? `${at}`,
    at,
    windowStart: str(d, 'curr.start', 'current.start', 'window.start', 'window_start', 'curr_start'),
    windowEnd: str(d, 'curr.end', 'current.end', 'window.end', 'window_end', 'curr_end'),
    prevN: num(d, 'prev.n', 'previous.n', 'prev_n'),
    prevMean: num(d, 'prev.mean', 'previous.mean', 'prev_mean'),
    currN: num(d, 'curr.n', 'current.n', 'curr_n'),
    currMean: num(d, 'curr.mean', 'current.mean', 'curr_mean'),
    t: num(d, 't', 'test.t'),
    df: num(d, 'df', 'test.df'),
    p: num(d, 'p', 'p_value', 'test.p'),
    status: str(d, 'status'),
    changed: bool(d, 'changed'),
    reason: str(d, 'reason'),
    detail: str(d, 'detail'),
    delivered: bool(d, 'delivered', 'command_delivered'),
  };
}

const SHOWN = 200;
const HISTORY_MINUTES = 15;

export function ControlPage() {
  const { routes, error: routesError } = useRoutes();
  const available = routes?.has('GET', '/decisions') ?? false;
  const streamPath = routes?.getPaths('control').find((p) => /stream|events|sse/.test(p)) ?? null;
  const [streamed, setStreamed] = useState<DecisionRow[]>([]);
  const sse = useSse(available && streamPath ? streamPath : null, {
    decision: (d) => {
      if (isObj(d)) setStreamed((old) => [readDecision(d), ...old].slice(0, SHOWN));
    },
  });
  const live = sse === 'open';

  // The table's base comes from GET /decisions; with the stream open it is refreshed rarely and the
  // stream adds the rest; without it, polled every second.
  const decisions = usePoll(
    (signal) =>
      available
        ? api(withQuery('/decisions', { limit: SHOWN }), { signal }).then((x) =>
            list(x, 'decisions').filter(isObj).map(readDecision),
          )
        : Promise.resolve([]),
    live ? 30_000 : 1000,
    [available, live],
  );
  const status = usePoll(
    (signal) => (routes?.has('GET', '/control/status') ? api<Json>('/control/status', { signal }) : Promise.resolve(null)),
    2000,
    [routes],
  );
  const history = usePoll(
    (signal) => {
      if (!routes?.has('GET', '/history')) return Promise.resolve([]);
      const before = new Date();
      const after = new Date(before.getTime() - HISTORY_MINUTES * 60_000);
      return api(withQuery('/history', { after: after.toISOString(), before: before.toISOString() }), {
        signal,
      }).then((x) => list(x).filter(isObj));
    },
    2000,
    [routes],
  );

  const rows = useMemo(() => {
    const seen = new Set<string>();
    const out: DecisionRow[] = [];
    for (const d of [...streamed, ...(decisions.data ?? [])]) {
      const k = `${d.at}|${d.windowEnd}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(d);
    }
    return out.sort((a, b) => String(b.at).localeCompare(String(a.at))).slice(0, SHOWN);
  }, [streamed, decisions.data]);

  const chart = useMemo(() => {
    const pts = rows
      .filter((r) => r.currMean !== null && (r.windowEnd ?? r.at))
      .map((r) => [new Date((r.windowEnd ?? r.at)!).getTime() / 1000, r.currMean!] as const)
      .sort((a, b) => a[0] - b[0]);
    return [pts.map((p) => p[0]), pts.map((p) => p[1])] as [number[], number[]];
  }, [rows]);

  const bands = useMemo((): ChartBand[] => {
    const out: ChartBand[] = [];
    for (const h of history.data ?? []) {
      const from = str(h, 'from_datetime', 'from');
      const to = str(h, 'to_datetime', 'to');
      if (!from || !to) continue;
      out.push({
        from: new Date(from).getTime() / 1000,
        to: new Date(to).getTime() / 1000,
        color: str(h, 'status') === 'up' ? 'rgba(45,164,78,0.15)' : 'rgba(207,34,46,0.10)',
      });
    }
    return out;
  }, [history.data]);

  if (routesError) return <ErrorMessage error={routesError} what="Route table" />;
  if (!routes) return <Loading />;
  if (!available) return <NotAvailable what="The control module" route="GET /decisions" />;

  const st = status.data;
  const current = str(st, 'status') ?? rows[0]?.status ?? null;
  const connected = bool(st, 'manipulator_connected', 'manipulator.connected', 'manipulatorConnected');
  const leader = field(st, 'leader', 'is_leader', 'leader_id');
  const last = isObj(field(st, 'last_decision')) ? readDecision(field(st, 'last_decision') as Json) : rows[0];

  return (
    <div className="grid-wide">
      <div className="grid">
        <Card title="Controller">
          <ErrorMessage error={status.error} what="Status" />
          <div className="stats">
            <Stat
              label="Status"
              value={current ? <Badge tone={current === 'up' ? 'ok' : 'bad'}>{current}</Badge> : '—'}
            />
            <Stat
              label="Manipulator"
              value={
                connected === null ? '—' : <Badge tone={connected ? 'ok' : 'bad'}>{connected ? 'connected' : 'disconnected'}</Badge>
              }
            />
            <Stat
              label="Leader"
              value={typeof leader === 'boolean' ? (leader ? 'this process' : 'another') : String(leader ?? '—')}
            />
            <Stat label="Last decision" value={fmtAgo(last?.at)} />
          </div>
          {last?.detail && <p className="muted">{last.detail}</p>}
          <p className="muted">
            Updates: {live ? <Badge tone="ok">live (SSE)</Badge> : <Badge tone="muted">polling every second</Badge>}
          </p>
        </Card>
        <Card title={`Status timeline, last ${HISTORY_MINUTES} minutes`}>
          <ErrorMessage error={history.error} what="History" />
          <Timeline periods={history.data ?? []} />
        </Card>
      </div>
      <Card title="Window means">
        <Chart
          title="Mean payload of each window; background: status up (green) / down (red)"
          data={chart}
          series={[{ label: 'window mean', color: '#1f6feb' }]}
          bands={bands}
          units={{ y: 'mean payload' }}
          emptyText="Waiting for the first decision…"
        />
      </Card>
      <Card title="Decisions">
        <ErrorMessage error={decisions.error} what="Decisions" />
        {decisions.loading ? (
          <Loading />
        ) : rows.length === 0 ? (
          <p className="muted">No decision yet.</p>
        ) : (
          <div className="table-wrap" style={{ maxHeight: 480 }}>
            <table aria-label="Decisions">
              <thead>
                <tr>
                  <th>Window end</th>
                  <th className="num">n prev</th>
                  <th className="num">n curr</th>
                  <th className="num">mean prev</th>
                  <th className="num">mean curr</th>
                  <th className="num">t</th>
                  <th className="num">df</th>
                  <th className="num">p</th>
                  <th>Status</th>
                  <th>Reason</th>
                  <th>Delivered</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={`${r.key}|${r.at}`} title={r.detail ?? undefined}>
                    <td>{fmtTime(r.windowEnd ?? r.at)}</td>
                    <td className="num">{fmtNum(r.prevN)}</td>
                    <td className="num">{fmtNum(r.currN)}</td>
                    <td className="num">{fmtSig(r.prevMean)}</td>
                    <td className="num">{fmtSig(r.currMean)}</td>
                    <td className="num">{fmtSig(r.t)}</td>
                    <td className="num">{fmtSig(r.df)}</td>
                    <td className="num">{fmtP(r.p)}</td>
                    <td>
                      <Badge tone={r.status === 'up' ? 'ok' : 'bad'}>{r.status ?? '—'}</Badge>
                      {r.changed && <Badge tone="warn">changed</Badge>}
                    </td>
                    <td>{r.reason ?? '—'}</td>
                    <td>{r.delivered === null ? '—' : r.delivered ? 'yes' : <Badge tone="warn">no</Badge>}</td>
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

function Timeline({ periods }: { periods: Json[] }) {
  const spans = periods
    .map((h) => ({
      from: new Date(str(h, 'from_datetime', 'from') ?? '').getTime(),
      to: new Date(str(h, 'to_datetime', 'to') ?? '').getTime(),
      status: str(h, 'status') ?? '?',
    }))
    .filter((s) => Number.isFinite(s.from) && Number.isFinite(s.to) && s.to >= s.from);
  if (spans.length === 0) return <p className="muted">No status recorded in this range.</p>;
  const start = spans[0]!.from;
  const total = Math.max(1, spans[spans.length - 1]!.to - start);
  return (
    <>
      <div className="timeline" role="img" aria-label={`Status periods: ${spans.map((s) => s.status).join(', ')}`}>
        {spans.map((s) => (
          <div
            key={s.from}
            className={s.status === 'up' ? 'tl-up' : 'tl-down'}
            style={{ width: `${((s.to - s.from) / total) * 100}%` }}
            title={`${s.status} ${fmtTime(new Date(s.from).toISOString())}–${fmtTime(new Date(s.to).toISOString())}`}
          />
        ))}
      </div>
      <div className="legend">
        <span>{fmtTime(new Date(start).toISOString())}</span>
        <span>
          <span className="swatch tl-up" /> up <span className="swatch tl-down" /> down
        </span>
        <span>{fmtTime(new Date(spans[spans.length - 1]!.to).toISOString())}</span>
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
            {[...spans].reverse().slice(0, 10).map((s) => (
              <tr key={s.from}>
                <td>{fmtTime(new Date(s.from).toISOString())}</td>
                <td>{fmtTime(new Date(s.to).toISOString())}</td>
                <td>
                  <Badge tone={s.status === 'up' ? 'ok' : 'bad'}>{s.status}</Badge>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
