import { useMemo, useState } from 'react';
import { api, withQuery } from '../api';
import { Chart } from '../components/Chart';
import { Badge, Card, ErrorMessage, Loading, NotAvailable, Stat } from '../components/ui';
import { fmtDateTime, fmtMs, fmtNum, fmtPct, fmtSig } from '../format';
import { END_STREAM, usePoll, useRoutes, useSse } from '../hooks';
import { CreateExperiment } from './LatencyForms';
import { Groups } from './LatencyGroups';
import type { Experiment, LiveStats, Result, SecondPoint, State } from './latency.types';

const FINAL: State[] = ['completed', 'stopped'];
const stateTone = (s: State | undefined) =>
  s === 'running'
    ? 'ok'
    : s === 'paused'
      ? 'warn'
      : s === 'completed'
        ? 'info'
        : s === 'stopped'
          ? 'bad'
          : 'muted';

export function LatencyPage() {
  const { routes, error: routesError } = useRoutes();
  const available = routes?.has('GET', '/list_experiments') ?? false;
  const [selected, setSelected] = useState<string | null>(null);
  const experiments = usePoll(
    (signal) => (available ? api<Experiment[]>('/list_experiments', { signal }) : Promise.resolve([])),
    2000,
    [available],
  );

  if (routesError) return <ErrorMessage error={routesError} what="Route table" />;
  if (!routes) return <Loading />;
  if (!available) return <NotAvailable what="The latency module" route="GET /list_experiments" />;

  const all = experiments.data ?? [];
  const current = selected ?? all[all.length - 1]?.id ?? null;
  const summary = all.find((e) => e.id === current);

  return (
    <div className="split">
      <div className="stack">
        <Card title="Experiments">
          <ErrorMessage error={experiments.error} what="Experiments" />
          {experiments.loading ? (
            <Loading />
          ) : all.length === 0 ? (
            <p className="muted">No experiments yet; create one below.</p>
          ) : (
            <div className="table-wrap" style={{ maxHeight: 360 }}>
              <table aria-label="Latency experiments">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>State</th>
                    <th>Target</th>
                  </tr>
                </thead>
                <tbody>
                  {[...all].reverse().map((e) => (
                    <tr key={e.id} className={e.id === current ? 'selected' : ''}>
                      <td>
                        <button
                          type="button"
                          className="icon"
                          onClick={() => setSelected(e.id)}
                          aria-pressed={e.id === current}
                          aria-label={`Show experiment ${e.name}`}
                        >
                          {e.name}
                        </button>
                      </td>
                      <td>
                        <Badge tone={stateTone(e.state)}>{e.state}</Badge>
                      </td>
                      <td className="mono">
                        {e.settings.host}:{e.settings.port}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
        <CreateExperiment
          onCreated={(id) => {
            setSelected(id);
            experiments.refresh();
          }}
        />
      </div>
      <div className="stack">
        {current ? (
          <ExperimentDetail
            key={current}
            id={current}
            // The list is polled anyway: a state change there reloads the detail.
            listedState={summary?.state}
            streamed={routes.has('GET', '/experiment_stream')}
            onChange={experiments.refresh}
          />
        ) : (
          <Card title="Experiment">Select or create an experiment.</Card>
        )}
        {routes.has('GET', '/list_groups') && <Groups />}
      </div>
    </div>
  );
}

function ExperimentDetail({
  id,
  listedState,
  streamed,
  onChange,
}: {
  id: string;
  listedState: State | undefined;
  streamed: boolean;
  onChange: () => void;
}) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [seconds, setSeconds] = useState<SecondPoint[]>([]);
  const finished = listedState !== undefined && FINAL.includes(listedState);
  // A finished experiment's series is complete in the result; no stream needed.
  const sse = useSse(streamed && !finished ? withQuery('/experiment_stream', { experiment_id: id }) : null, {
    second: (p) => setSeconds((old) => [...old, p as SecondPoint].slice(-3600)),
    end: () => END_STREAM,
  });
  const live = sse === 'open';
  const result = usePoll(
    (signal) => api<Result>(withQuery('/result_experiment', { experiment_id: id, limit: 0 }), { signal }),
    live ? 5000 : 2000,
    [id, live, listedState],
  );
  const stats = usePoll(
    (signal) =>
      finished
        ? Promise.resolve(null)
        : api<LiveStats>(withQuery('/experiment_stats', { experiment_id: id }), { signal }),
    1000,
    [id, finished],
  );

  const r = result.data;
  const state = stats.data?.state ?? r?.state;
  const data = useMemo(() => {
    const bySecond = new Map<number, SecondPoint>();
    for (const p of r?.series ?? []) bySecond.set(p.second, p);
    for (const p of seconds) bySecond.set(p.second, p);
    const pts = [...bySecond.values()].sort((a, b) => a.second - b.second);
    return [
      pts.map((p) => new Date(p.timestamp).getTime() / 1000),
      pts.map((p) => (p.latency.count ? p.latency.p50 : null)),
      pts.map((p) => (p.latency.count ? p.latency.p90 : null)),
      pts.map((p) => (p.latency.count ? p.latency.p99 : null)),
      pts.map((p) => p.rps),
    ] as [number[], ...(number | null)[][]];
  }, [r, seconds]);

  const manage = async (to: 'start' | 'pause' | 'stop') => {
    setBusy(true);
    setError(null);
    try {
      await api(withQuery('/manage_experiment', { state: to, experiment_id: id }), { method: 'POST' });
      stats.refresh();
      result.refresh();
      onChange();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const s = stats.data;
  const sum = r?.summary;
  const profiles = r?.settings.load_profiles ?? [];
  const checks = sum?.thresholds?.checks ?? [];
  return (
    <Card
      title={`Experiment ${r?.name ?? id.slice(0, 8)}`}
      actions={
        <>
          <Badge tone={stateTone(state)}>{state ?? '…'}</Badge>
          <button
            type="button"
            className="primary"
            disabled={busy || !(state === 'created' || state === 'paused')}
            onClick={() => manage('start')}
          >
            {state === 'paused' ? 'Resume' : 'Start'}
          </button>
          <button type="button" disabled={busy || state !== 'running'} onClick={() => manage('pause')}>
            Pause
          </button>
          <button
            type="button"
            className="danger"
            disabled={busy || !(state === 'running' || state === 'paused' || state === 'created')}
            onClick={() => manage('stop')}
          >
            Stop
          </button>
        </>
      }
    >
      <ErrorMessage error={error} what="Control" />
      <ErrorMessage error={result.error} what="Result" />
      {!r ? (
        <Loading />
      ) : (
        <>
          <p className="muted">
            {r.settings.method} {r.settings.scheme}://{r.settings.host}:{r.settings.port}
            {r.settings.path} · {r.settings.model} model · created {fmtDateTime(r.created_at)} · profile{' '}
            {Math.min(r.current_profile_index + 1, profiles.length)} of {profiles.length}
            {s && state === 'running' ? ` · ${s.users} users` : ''}
          </p>
          <div className="stats">
            <Stat label="Requests" value={fmtNum(s?.total_requests ?? sum?.requests)} />
            <Stat label="Req/s" value={fmtSig(s ? s.rate : sum?.rps)} hint="Live: the last second" />
            <Stat label="Success" value={fmtPct(s ? s.success_rate : sum?.success_rate)} />
            <Stat label="p50" value={fmtMs(s ? s.p50 : sum?.latency.p50)} />
            <Stat label="p90" value={fmtMs(s ? s.p90 : sum?.latency.p90)} />
            <Stat label="p99" value={fmtMs(s ? s.p99 : sum?.latency.p99)} />
          </div>
          <ErrorMessage error={stats.error} what="Live stats" />
          <Chart
            title="Latency percentiles and requests per second"
            data={data}
            series={[
              { label: 'p50 ms', color: '#1a7f37', scale: 'ms' },
              { label: 'p90 ms', color: '#9a6700', scale: 'ms' },
              { label: 'p99 ms', color: '#cf222e', scale: 'ms' },
              { label: 'req/s', color: '#1f6feb', scale: 'rps' },
            ]}
            units={{ ms: 'latency (ms)', rps: 'req/s' }}
            zero={['ms', 'rps']}
            emptyText={state === 'created' ? 'Start the experiment to see data.' : 'No data yet.'}
          />
          <p className="muted">
            Updates: {live ? 'live (SSE)' : finished ? 'finished' : 'polling'} · profiles:{' '}
            {profiles
              .map((p) => `${p.users} users × ${p.duration_seconds} s every ${p.interval_seconds} s`)
              .join(' → ')}
          </p>
          {checks.length > 0 && (
            <>
              <h3>
                Thresholds{' '}
                {r.passed !== null && (
                  <Badge tone={r.passed ? 'ok' : 'bad'}>{r.passed ? 'passed' : 'failed'}</Badge>
                )}
              </h3>
              <table aria-label="Thresholds">
                <thead>
                  <tr>
                    <th>Check</th>
                    <th className="num">Limit</th>
                    <th className="num">Actual</th>
                    <th>Result</th>
                  </tr>
                </thead>
                <tbody>
                  {checks.map((c) => (
                    <tr key={c.name}>
                      <td>{c.name}</td>
                      <td className="num">{fmtSig(c.limit)}</td>
                      <td className="num">{fmtSig(c.actual)}</td>
                      <td>
                        <Badge tone={c.passed ? 'ok' : 'bad'}>{c.passed ? 'pass' : 'fail'}</Badge>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
    </Card>
  );
}
