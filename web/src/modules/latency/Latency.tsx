import { useMemo, useState } from 'react';
import { api, type RouteTable, withQuery } from '../../api';
import { Chart } from '../../components/Chart';
import { type Column, DataTable, selectColumn } from '../../components/DataTable';
import { Badge, Card, ErrorMessage, Loading, modulePage, Stat } from '../../components/ui';
import { fmtDateTime, fmtMs, fmtNum, fmtPct, fmtSig } from '../../format';
import { END_STREAM, usePollApi, useSse } from '../../hooks';
import { CapacityPanel } from './LatencyCapacity';
import { CreateExperiment } from './LatencyForms';
import { Groups } from './LatencyGroups';
import { CHECK_COLUMNS, SEGMENT_COLUMNS } from './LatencyTables';
import { type Action, canManage } from './states';
import type { Experiment, LiveStats, Result, SecondPoint, State } from './types';

const FINAL: State[] = ['completed', 'stopped', 'failed'];
const stateTone = (s: State | undefined) =>
  s === 'running'
    ? 'ok'
    : s === 'paused'
      ? 'warn'
      : s === 'completed'
        ? 'info'
        : s === 'stopped' || s === 'failed'
          ? 'bad'
          : 'muted';

export const LatencyPage = modulePage('The latency module', 'GET /list_experiments', Latency);

function Latency({ routes }: { routes: RouteTable }) {
  const [selected, setSelected] = useState<string | null>(null);
  const experiments = usePollApi<Experiment[]>('/list_experiments', 2000);

  const all = experiments.data ?? [];
  const current = selected ?? all[all.length - 1]?.id ?? null;
  const summary = all.find((e) => e.id === current);
  const isCurrent = (e: Experiment) => e.id === current;
  const columns: Column<Experiment>[] = [
    selectColumn({
      head: 'Name',
      text: (e) => e.name,
      label: (e) => `Show experiment ${e.name}`,
      isSelected: isCurrent,
      onSelect: (e) => setSelected(e.id),
    }),
    { head: 'State', cell: (e) => <Badge tone={stateTone(e.state)}>{e.state}</Badge> },
    { head: 'Target', className: 'mono', cell: (e) => `${e.settings.host}:${e.settings.port}` },
  ];

  return (
    <div className="split">
      <div className="stack">
        <Card title="Experiments">
          <ErrorMessage error={experiments.error} what="Experiments" />
          <DataTable
            label="Latency experiments"
            columns={columns}
            rows={[...all].reverse()}
            rowKey={(e) => e.id}
            rowProps={(e) => ({ className: isCurrent(e) ? 'selected' : '' })}
            maxHeight={360}
            loading={experiments.loading}
            empty="No experiments yet; create one below."
          />
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
  const [segmented, setSegmented] = useState(false);
  // A finished experiment's series is complete in the result; no stream needed. The stream sends each
  // segment's own points; an experiment of several segments charts the merged series of the result.
  const sse = useSse(
    streamed && !finished && !segmented ? withQuery('/experiment_stream', { experiment_id: id }) : null,
    {
      second: (p) => setSeconds((old) => [...old, p as SecondPoint].slice(-3600)),
      end: () => END_STREAM,
    },
  );
  const live = sse === 'open';
  const result = usePollApi<Result>(
    withQuery('/result_experiment', { experiment_id: id, limit: 0 }),
    live ? 5000 : 2000,
    [live, listedState],
  );
  // A finished experiment has no live stats; its result holds the totals.
  const stats = usePollApi<LiveStats>(
    finished ? null : withQuery('/experiment_stats', { experiment_id: id }),
    1000,
  );

  const r = result.data;
  const state = stats.data?.state ?? r?.state;
  const segmentCount = r?.settings.segments ?? 1;
  if (segmentCount > 1 !== segmented) setSegmented(segmentCount > 1);
  const data = useMemo(() => {
    const bySecond = new Map<number, SecondPoint>();
    for (const p of r?.series ?? []) bySecond.set(p.second, p);
    if (!segmented) for (const p of seconds) bySecond.set(p.second, p);
    const pts = [...bySecond.values()].sort((a, b) => a.second - b.second);
    return [
      pts.map((p) => new Date(p.timestamp).getTime() / 1000),
      pts.map((p) => (p.latency.count ? p.latency.p50 : null)),
      pts.map((p) => (p.latency.count ? p.latency.p90 : null)),
      pts.map((p) => (p.latency.count ? p.latency.p99 : null)),
      pts.map((p) => p.rps),
    ] as [number[], ...(number | null)[][]];
  }, [r, seconds, segmented]);

  const manage = async (to: Action) => {
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
  const segments = s?.segments ?? r?.segments ?? [];
  const profiles = r?.settings.load_profiles ?? [];
  const checks = sum?.thresholds?.checks ?? [];
  const capacityModel = r?.settings.model === 'capacity';
  return (
    <Card
      title={`Experiment ${r?.name ?? id.slice(0, 8)}`}
      actions={
        <>
          <Badge tone={stateTone(state)}>{state ?? '…'}</Badge>
          <button
            type="button"
            className="primary"
            disabled={busy || !canManage(state, 'start')}
            onClick={() => manage('start')}
          >
            {state === 'paused' ? 'Resume' : 'Start'}
          </button>
          <button type="button" disabled={busy || !canManage(state, 'pause')} onClick={() => manage('pause')}>
            Pause
          </button>
          <button
            type="button"
            className="danger"
            disabled={busy || !canManage(state, 'stop')}
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
            {r.settings.path} · {r.settings.model} {capacityModel ? 'search' : 'model'}
            {segmentCount > 1 ? ` · ${segmentCount} segments` : ''} · created {fmtDateTime(r.created_at)}
            {capacityModel
              ? ''
              : ` · profile ${Math.min(r.current_profile_index + 1, profiles.length)} of ${profiles.length}`}
            {s && state === 'running' && !capacityModel ? ` · ${s.users} users` : ''}
          </p>
          {capacityModel && <CapacityPanel experiment={r} capacity={s?.capacity ?? r.capacity} />}
          {!capacityModel && (
            <>
              <div className="stats">
                <Stat label="Requests" value={fmtNum(s?.total_requests ?? sum?.requests)} />
                {state === 'running' ? (
                  <Stat label="Req/s" value={fmtSig(s?.rate)} hint="The last second" />
                ) : (
                  <Stat label="Req/s" value={fmtSig(sum?.rps)} hint="The run's average" />
                )}
                <Stat label="Success" value={fmtPct(s ? s.success_rate : sum?.success_rate)} />
                <Stat label="p50" value={fmtMs(s ? s.p50 : sum?.latency.p50)} />
                <Stat label="p90" value={fmtMs(s ? s.p90 : sum?.latency.p90)} />
                <Stat label="p99" value={fmtMs(s ? s.p99 : sum?.latency.p99)} />
              </div>
              <ErrorMessage error={stats.error} what="Live stats" />
              {r.verdict && <p className="error">Aborted: {r.verdict}</p>}
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
            </>
          )}
          {segmentCount > 1 && (
            <>
              <h3>Segments</h3>
              <DataTable
                bare
                label="Segments"
                columns={SEGMENT_COLUMNS}
                rows={segments}
                rowKey={(x) => String(x.index)}
              />
            </>
          )}
          {checks.length > 0 && (
            <>
              <h3>
                Thresholds{' '}
                {r.passed !== null && (
                  <Badge tone={r.passed ? 'ok' : 'bad'}>{r.passed ? 'passed' : 'failed'}</Badge>
                )}
              </h3>
              <DataTable
                bare
                label="Thresholds"
                columns={CHECK_COLUMNS}
                rows={checks}
                rowKey={(c) => c.name}
              />
            </>
          )}
        </>
      )}
    </Card>
  );
}
