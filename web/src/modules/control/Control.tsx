import { useMemo, useState } from 'react';
import { api, type RouteTable, withQuery } from '../../api';
import { Chart, type ChartBand } from '../../components/Chart';
import { DataTable } from '../../components/DataTable';
import { Badge, Card, ErrorMessage, modulePage, Stat } from '../../components/ui';
import { fmtAgo, fmtSig } from '../../format';
import { usePoll, usePollApi, useSse } from '../../hooks';
import { DECISION_COLUMNS, StatusBadge, Timeline, WINDOW_COLUMNS } from './ControlTables';
import { ReplayPanel } from './Replay';
import type { ControlStatus, Decision, Live, Period } from './types';

const SHOWN = 200;
const LIVE_POINTS = 600;
const HISTORY_MINUTES = 15;
const secs = (iso: string) => new Date(iso).getTime() / 1000;

export const ControlPage = modulePage('The control module', 'GET /decisions', Control);

function Control({ routes }: { routes: RouteTable }) {
  const hasStream = routes.has('GET', '/control/stream');
  const hasStatus = routes.has('GET', '/control/status');
  const hasHistory = routes.has('GET', '/history');
  const hasReplay = routes.has('POST', '/control/replay');

  // Newest first, one entry per decision time; a `delivery` event replaces its decision.
  const [streamed, setStreamed] = useState<Decision[]>([]);
  const [live, setLive] = useState<Live[]>([]);
  const upsert = (d: unknown) =>
    setStreamed((old) =>
      [d as Decision, ...old.filter((x) => x.decided_at !== (d as Decision).decided_at)].slice(0, SHOWN),
    );
  const sse = useSse(hasStream ? '/control/stream' : null, {
    decision: upsert,
    delivery: upsert,
    live: (l) => setLive((old) => [...old, l as Live].slice(-LIVE_POINTS)),
  });
  const streaming = sse === 'open';

  // With the stream open the list is reloaded rarely (the stream adds the rest); without it, every second.
  const decisions = usePollApi<Decision[]>(
    withQuery('/decisions', { limit: SHOWN }),
    streaming ? 30_000 : 1000,
    [streaming],
  );
  const status = usePollApi<ControlStatus>(hasStatus ? '/control/status' : null, 2000);
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
              hint={
                st
                  ? `${st.manipulator.host}:${st.manipulator.port}${
                      st.manipulator.replies === false
                        ? ' · never replies: commands are sent, not acknowledged'
                        : st.manipulator.replies
                          ? ' · acknowledges commands'
                          : ''
                    }`
                  : undefined
              }
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
            <Stat
              label="Detector"
              hint={
                st?.detector?.type === 'cusum'
                  ? `CUSUM: target ARL ${st.detector.arl} decisions, k ${st.detector.k}, threshold ${fmtSig(st.detector.threshold)}`
                  : st
                    ? `Welch t-test of the last two windows, alpha ${st.alpha}, min dwell ${st.min_dwell ?? 0}`
                    : undefined
              }
              value={!st?.detector ? '—' : st.detector.type === 'cusum' ? 'CUSUM' : 't-test'}
            />
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
            <DataTable
              label="Live window statistics"
              columns={WINDOW_COLUMNS}
              rows={[
                { name: 'Being filled', w: now.current_window },
                { name: 'Previous', w: now.previous_window },
              ]}
              rowKey={(r) => r.name}
            />
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
      {hasReplay && st?.retention_seconds !== undefined && (
        <ReplayPanel
          defaults={{
            alpha: st.alpha,
            minDwell: st.min_dwell ?? 0,
            retentionSeconds: st.retention_seconds,
            intervalSeconds: st.interval_seconds,
          }}
        />
      )}
      <Card title="Decisions">
        <ErrorMessage error={decisions.error} what="Decisions" />
        <DataTable
          label="Decisions"
          columns={DECISION_COLUMNS}
          rows={rows}
          rowKey={(d) => d.decided_at}
          rowProps={(d) => ({ title: d.detail })}
          maxHeight={480}
          loading={decisions.loading}
          empty="No decision yet."
        />
      </Card>
    </div>
  );
}
