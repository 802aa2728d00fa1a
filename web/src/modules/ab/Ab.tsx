import { useState } from 'react';
import { api, type RouteTable } from '../../api';
import { Badge, Card, ErrorMessage, Loading, modulePage } from '../../components/ui';
import { fmtDateTime, fmtNum } from '../../format';
import { usePollApi } from '../../hooks';
import { ADMIN, CreateExperiment, TryDevice } from './AbForms';
import type { ExperimentStats, StatsAnswer } from './types';

const COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

export const AbPage = modulePage('The A/B module', 'GET /api/v1/experiments/stats', Ab);

function Ab({ routes }: { routes: RouteTable }) {
  const stats = usePollApi<StatsAnswer>('/api/v1/experiments/stats', 2000);
  const canAdmin = routes.has('POST', ADMIN);
  const s = stats.data;
  return (
    <div className="grid-wide">
      <ErrorMessage error={stats.error} what="Statistics" />
      {stats.loading && <Loading />}
      {s && s.experiments.length === 0 && <p className="muted">No experiments yet.</p>}
      <div className="grid">
        {s?.experiments.map((e) => (
          <ExperimentCard
            key={e.name}
            e={e}
            alpha={s.srm_alpha}
            minExpected={s.srm_min_expected}
            canStop={canAdmin}
            onChange={stats.refresh}
          />
        ))}
      </div>
      <div className="grid">
        {canAdmin && <CreateExperiment onCreated={stats.refresh} />}
        <TryDevice />
      </div>
      <p className="muted">
        Server-rendered table: <a href="/pages/experiment-stats">/pages/experiment-stats</a>
      </p>
    </div>
  );
}

function ExperimentCard({
  e,
  alpha,
  minExpected,
  canStop,
  onChange,
}: {
  e: ExperimentStats;
  alpha: number;
  minExpected: number;
  canStop: boolean;
  onChange: () => void;
}) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const stop = async () => {
    if (!window.confirm(`Stop experiment "${e.name}"? New devices will no longer enter it.`)) return;
    setBusy(true);
    setError(null);
    try {
      await api(`${ADMIN}/${encodeURIComponent(e.name)}/stop`, { method: 'POST' });
      onChange();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const max = Math.max(1, ...e.options.map((o) => o.devices), ...e.options.map((o) => o.expected));
  return (
    <Card
      title={e.name}
      actions={
        <>
          <Badge tone={e.status === 'running' ? 'ok' : 'muted'}>{e.status}</Badge>
          <Badge tone={e.srm.verdict === 'mismatch' ? 'bad' : 'muted'}>
            <span data-testid={`ab-srm-${e.name}`}>SRM: {e.srm.summary}</span>
          </Badge>
          {canStop && e.status === 'running' && (
            <button
              type="button"
              className="danger"
              onClick={stop}
              disabled={busy}
              aria-label={`Stop ${e.name}`}
            >
              Stop
            </button>
          )}
        </>
      }
    >
      <p className="muted">
        <span data-testid={`ab-devices-${e.name}`}>{fmtNum(e.devices)}</span> devices · started{' '}
        {fmtDateTime(e.started_at)}
        {e.stopped_at ? ` · stopped ${fmtDateTime(e.stopped_at)}` : ''} · deck version {e.version}
      </p>
      <ul className="bars" aria-label={`Distribution of ${e.name}`}>
        {e.options.map((o) => {
          const label = String(o.value);
          return (
            <li className="bar-row" key={label}>
              <span className="mono">
                {typeof o.value === 'string' && COLOR.test(o.value) && (
                  <span className="swatch" style={{ background: o.value }} />
                )}
                {label}
              </span>
              <div className="bar-track" title={`expected ${o.expected.toFixed(1)} (weight ${o.weight})`}>
                <div
                  className="bar-fill"
                  style={{
                    width: `${(o.devices / max) * 100}%`,
                    ...(typeof o.value === 'string' && COLOR.test(o.value) ? { background: o.value } : {}),
                  }}
                />
                <div className="bar-expected" style={{ left: `${(o.expected / max) * 100}%` }} />
              </div>
              <span className="bar-count">
                {fmtNum(o.devices)} · {o.percent} <span className="muted">(w {o.weight})</span>
              </span>
            </li>
          );
        })}
      </ul>
      <p className="muted">
        Dark tick: count expected from the weights. SRM = sample-ratio mismatch
        {e.srm.verdict === 'too_few_devices'
          ? `, tested once every option expects at least ${minExpected} devices`
          : `, chi-square ${e.srm.chi_square.toFixed(2)} on ${e.srm.df} df`}
        , flagged when p &lt; {alpha}.
      </p>
      <ErrorMessage error={error} what="Stop" />
    </Card>
  );
}
