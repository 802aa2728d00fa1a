import { type FormEvent, useMemo, useState } from 'react';
import { api, withQuery } from '../api';
import { Chart } from '../components/Chart';
import { Badge, Card, ErrorMessage, Loading, NotAvailable, Stat } from '../components/ui';
import { fmtDateTime, fmtMs, fmtNum, fmtPct, fmtSig } from '../format';
import { usePoll, useRoutes, useSse } from '../hooks';
import { field, isObj, type Json, list, num, str } from '../read';

const id = (e: unknown) => str(e, 'experiment_id', 'id', '_id') ?? '';
const stateTone = (s: string | null) =>
  s === 'running' ? 'ok' : s === 'paused' ? 'warn' : s === 'completed' ? 'info' : s === 'stopped' ? 'bad' : 'muted';

/** Latency numbers of a stats object, wherever the server puts them (flat, `latency.`, `_ms`). */
function latency(o: unknown) {
  const p = (q: string) => num(o, q, `${q}_ms`, `latency.${q}`, `latency_ms.${q}`);
  return { p50: p('p50'), p90: p('p90'), p99: p('p99') };
}

function successRate(o: unknown): number | null {
  const v = num(o, 'success_rate', 'successRate');
  // Percent (0-100) per the seed; tolerate a 0..1 ratio.
  return v === null ? null : v <= 1 && num(o, 'requests', 'total_requests') !== null ? v * 100 : v;
}

type Series = [number[], ...(number | null)[][]];

function toSeries(points: unknown[]): Series {
  const rows = points
    .filter(isObj)
    .map((b) => {
      const t = field(b, 'timestamp', 't', 'second', 'time');
      const ms = typeof t === 'number' ? (t > 1e11 ? t : t * 1000) : new Date(String(t)).getTime();
      const l = latency(b);
      const rps = num(b, 'rps') ?? (num(b, 'requests') ?? 0) / Math.max(0.001, (num(b, 'durationMs', 'duration_ms') ?? 1000) / 1000);
      return { x: ms / 1000, ...l, rps };
    })
    .filter((r) => Number.isFinite(r.x))
    .sort((a, b) => a.x - b.x);
  return [rows.map((r) => r.x), rows.map((r) => r.p50), rows.map((r) => r.p90), rows.map((r) => r.p99), rows.map((r) => r.rps)];
}

export function LatencyPage() {
  const { routes, error: routesError } = useRoutes();
  const available = routes?.has('GET', '/list_experiments') ?? false;
  const [selected, setSelected] = useState<string | null>(null);
  const experiments = usePoll(
    (signal) =>
      available ? api('/list_experiments', { signal }).then((x) => list(x, 'experiments').filter(isObj)) : Promise.resolve([]),
    2000,
    [available],
  );

  if (routesError) return <ErrorMessage error={routesError} what="Route table" />;
  if (!routes) return <Loading />;
  if (!available) return <NotAvailable what="The latency module" route="GET /list_experiments" />;

  const all = experiments.data ?? [];
  const current = selected ?? (all.length ? id(all[all.length - 1]) : null);
  const streamPath = routes.getPaths('latency').find((p) => /stream|events|sse/.test(p) && !p.startsWith('/api/')) ?? null;

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
                    <tr key={id(e)} className={id(e) === current ? 'selected' : ''}>
                      <td>
                        <button
                          type="button"
                          className="icon"
                          onClick={() => setSelected(id(e))}
                          aria-pressed={id(e) === current}
                          aria-label={`Show experiment ${str(e, 'name') ?? id(e)}`}
                        >
                          {str(e, 'name') ?? id(e).slice(0, 8)}
                        </button>
                      </td>
                      <td>
                        <Badge tone={stateTone(str(e, 'state'))}>{str(e, 'state') ?? '?'}</Badge>
                      </td>
                      <td className="mono">
                        {str(e, 'host', 'settings.host')}:{str(e, 'port', 'settings.port')}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
        <CreateExperiment
          onCreated={(newId) => {
            setSelected(newId);
            experiments.refresh();
          }}
        />
      </div>
      <div className="stack">
        {current ? (
          <ExperimentDetail key={current} experimentId={current} streamPath={streamPath} onChange={experiments.refresh} />
        ) : (
          <Card title="Experiment">Select or create an experiment.</Card>
        )}
        {routes.has('GET', '/list_groups') && <Groups />}
      </div>
    </div>
  );
}

function ExperimentDetail({
  experimentId,
  streamPath,
  onChange,
}: {
  experimentId: string;
  streamPath: string | null;
  onChange: () => void;
}) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [streamed, setStreamed] = useState<Json[]>([]);
  const sse = useSse(streamPath ? withQuery(streamPath, { experiment_id: experimentId }) : null, {
    second: (b) => isObj(b) && setStreamed((old) => [...old, b].slice(-600)),
    stats: (b) => isObj(b) && setStreamed((old) => [...old, b].slice(-600)),
  });
  const live = sse === 'open';
  const result = usePoll(
    (signal) => api<Json>(withQuery('/result_experiment', { experiment_id: experimentId, limit: 0 }), { signal }),
    live ? 5000 : 1000,
    [experimentId, live],
  );

  const r = result.data;
  const state = str(r, 'state');
  const series = useMemo(() => {
    const base = list(field(r, 'series')) as Json[];
    const seen = new Set(base.map((b) => str(b, 'timestamp')));
    return toSeries([...base, ...streamed.filter((b) => !seen.has(str(b, 'timestamp')))]);
  }, [r, streamed]);

  const manage = async (to: 'start' | 'pause' | 'stop') => {
    setBusy(true);
    setError(null);
    try {
      await api(withQuery('/manage_experiment', { state: to, experiment_id: experimentId }), { method: 'POST' });
      result.refresh();
      onChange();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const summary = field(r, 'summary');
  const l = latency(summary);
  const profiles = list(field(r, 'load_profiles', 'settings.load_profiles', 'profiles'));
  const profileIndex = num(r, 'current_profile_index');
  const checks = list(field(r, 'thresholds.checks', 'summary.thresholds.checks', 'threshold_report.checks'));
  const passed = field(r, 'passed', 'thresholds.passed', 'summary.thresholds.passed', 'threshold_report.passed');
  const canStart = state === 'created' || state === 'paused';

  return (
    <Card
      title={`Experiment ${str(r, 'name') ?? experimentId.slice(0, 8)}`}
      actions={
        <>
          <Badge tone={stateTone(state)}>{state ?? '…'}</Badge>
          <button type="button" className="primary" disabled={busy || !canStart} onClick={() => manage('start')}>
            {state === 'paused' ? 'Resume' : 'Start'}
          </button>
          <button type="button" disabled={busy || state !== 'running'} onClick={() => manage('pause')}>
            Pause
          </button>
          <button
            type="button"
            className="danger"
            disabled={busy || !(state === 'running' || state === 'paused')}
            onClick={() => manage('stop')}
          >
            Stop
          </button>
        </>
      }
    >
      <ErrorMessage error={error} what="Control" />
      <ErrorMessage error={result.error} what="Result" />
      {result.loading ? (
        <Loading />
      ) : (
        <>
          <p className="muted">
            {str(r, 'method', 'settings.method') ?? 'GET'} http://{str(r, 'host', 'settings.host')}:
            {str(r, 'port', 'settings.port')}
            {str(r, 'path', 'settings.path') ?? ''} · {str(r, 'model', 'settings.model') ?? 'closed'} model · created{' '}
            {fmtDateTime(str(r, 'created_at'))}
            {profiles.length > 0 && ` · profile ${Math.min((profileIndex ?? 0) + 1, profiles.length)} of ${profiles.length}`}
          </p>
          <div className="stats">
            <Stat label="Requests" value={fmtNum(num(summary, 'requests', 'total_requests'))} />
            <Stat label="Req/s" value={fmtSig(num(summary, 'rps'))} />
            <Stat label="Success" value={fmtPct(successRate(summary))} />
            <Stat label="p50" value={fmtMs(l.p50)} />
            <Stat label="p90" value={fmtMs(l.p90)} />
            <Stat label="p99" value={fmtMs(l.p99)} />
          </div>
          <Chart
            title="Latency percentiles and request rate per second"
            data={series}
            series={[
              { label: 'p50 ms', color: '#1a7f37', scale: 'ms' },
              { label: 'p90 ms', color: '#9a6700', scale: 'ms' },
              { label: 'p99 ms', color: '#cf222e', scale: 'ms' },
              { label: 'req/s', color: '#1f6feb', scale: 'rps' },
            ]}
            units={{ ms: 'latency (ms)', rps: 'req/s' }}
            emptyText={state === 'created' ? 'Start the experiment to see data.' : 'No data yet.'}
          />
          <p className="muted">Updates: {live ? 'live (SSE)' : 'polling every second'}</p>
          {checks.length > 0 && (
            <>
              <h3>
                Thresholds{' '}
                {typeof passed === 'boolean' && <Badge tone={passed ? 'ok' : 'bad'}>{passed ? 'passed' : 'failed'}</Badge>}
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
                  {checks.filter(isObj).map((c) => (
                    <tr key={str(c, 'name') ?? ''}>
                      <td>{str(c, 'name')}</td>
                      <td className="num">{fmtSig(num(c, 'limit'))}</td>
                      <td className="num">{fmtSig(num(c, 'actual'))}</td>
                      <td>
                        <Badge tone={field(c, 'passed') ? 'ok' : 'bad'}>{field(c, 'passed') ? 'pass' : 'fail'}</Badge>
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

interface ProfileDraft {
  users: string;
  duration_seconds: string;
  interval_seconds: string;
}

const newProfile = (): ProfileDraft => ({ users: '5', duration_seconds: '30', interval_seconds: '0.1' });

function CreateExperiment({ onCreated }: { onCreated: (id: string) => void }) {
  const [name, setName] = useState('demo');
  const [host, setHost] = useState('127.0.0.1');
  const [port, setPort] = useState('8001');
  const [path, setPath] = useState('/api/latency');
  const [model, setModel] = useState('closed');
  const [p99, setP99] = useState('');
  const [success, setSuccess] = useState('');
  const [profiles, setProfiles] = useState<ProfileDraft[]>([newProfile()]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const set = (i: number, patch: Partial<ProfileDraft>) =>
    setProfiles((ps) => ps.map((p, j) => (j === i ? { ...p, ...patch } : p)));

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    const thresholds: Record<string, number> = {};
    if (p99) thresholds.p99_ms = Number(p99);
    if (success) thresholds.success_rate = Number(success);
    try {
      const created = await api<Json>('/create_experiment', {
        method: 'POST',
        body: {
          name: name.trim(),
          host: host.trim(),
          port: Number(port),
          path: path.trim() || undefined,
          model,
          load_profiles: profiles.map((p) => ({
            users: Number(p.users),
            duration_seconds: Number(p.duration_seconds),
            interval_seconds: Number(p.interval_seconds),
          })),
          ...(Object.keys(thresholds).length ? { thresholds } : {}),
        },
      });
      onCreated(id(created));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="New experiment">
      <form className="form" onSubmit={submit} aria-label="New latency experiment">
        <div className="fields">
          <label className="field">
            Name
            <input required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label className="field">
            Host
            <input required value={host} onChange={(e) => setHost(e.target.value)} />
          </label>
          <label className="field">
            Port
            <input required type="number" min={1} max={65535} value={port} onChange={(e) => setPort(e.target.value)} />
          </label>
          <label className="field">
            Path
            <input value={path} onChange={(e) => setPath(e.target.value)} />
          </label>
          <label className="field">
            Model
            <select value={model} onChange={(e) => setModel(e.target.value)}>
              <option value="closed">closed (users wait for answers)</option>
              <option value="arrival-rate">arrival rate (open)</option>
            </select>
          </label>
        </div>
        <fieldset>
          <legend>Load profiles (stages, run in order)</legend>
          {profiles.map((p, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: stages are identified by their position.
            <div className="row" key={i}>
              <label className="field">
                Users {i + 1}
                <input required type="number" min={1} step={1} value={p.users} onChange={(e) => set(i, { users: e.target.value })} />
              </label>
              <label className="field">
                Duration (s) {i + 1}
                <input
                  required
                  type="number"
                  min={1}
                  step="any"
                  value={p.duration_seconds}
                  onChange={(e) => set(i, { duration_seconds: e.target.value })}
                />
              </label>
              <label className="field">
                Interval (s) {i + 1}
                <input
                  required
                  type="number"
                  min={0}
                  step="any"
                  value={p.interval_seconds}
                  onChange={(e) => set(i, { interval_seconds: e.target.value })}
                />
              </label>
              <button
                type="button"
                className="icon"
                aria-label={`Remove stage ${i + 1}`}
                disabled={profiles.length <= 1}
                onClick={() => setProfiles((ps) => ps.filter((_, j) => j !== i))}
              >
                ✕
              </button>
            </div>
          ))}
          <button type="button" onClick={() => setProfiles((ps) => [...ps, newProfile()])}>
            Add stage
          </button>
        </fieldset>
        <fieldset>
          <legend>Thresholds (optional)</legend>
          <div className="row">
            <label className="field">
              p99 at most (ms)
              <input type="number" min={0} step="any" value={p99} onChange={(e) => setP99(e.target.value)} />
            </label>
            <label className="field">
              Success at least (%)
              <input type="number" min={0} max={100} step="any" value={success} onChange={(e) => setSuccess(e.target.value)} />
            </label>
          </div>
        </fieldset>
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Create experiment
          </button>
        </div>
        <ErrorMessage error={error} what="Create" />
      </form>
    </Card>
  );
}

/** Groups: members side by side with merged totals, and start/pause/stop for all of them. */
function Groups() {
  const groups = usePoll((signal) => api('/list_groups', { signal }).then((x) => list(x, 'groups').filter(isObj)), 5000);
  const [selected, setSelected] = useState<string>('');
  const all = groups.data ?? [];
  const gid = (g: unknown) => str(g, 'group_id', 'id', '_id') ?? '';
  const current = selected || (all[0] ? gid(all[0]) : '');
  const stats = usePoll(
    (signal) => (current ? api<Json>(withQuery('/group_stats', { group_id: current }), { signal }) : Promise.resolve(null)),
    1000,
    [current],
  );
  const [error, setError] = useState<unknown>(null);

  const manage = async (to: 'start' | 'pause' | 'stop') => {
    setError(null);
    try {
      await api(withQuery('/manage_group', { state: to, group_id: current }), { method: 'POST' });
      stats.refresh();
    } catch (e) {
      setError(e);
    }
  };

  const members = Object.entries((field(stats.data, 'experiments_stats') as Json | undefined) ?? {});
  const g = stats.data;
  return (
    <Card
      title="Group comparison"
      actions={
        current ? (
          <>
            <button type="button" onClick={() => manage('start')} aria-label="Start every experiment of the group">
              Start all
            </button>
            <button type="button" onClick={() => manage('pause')} aria-label="Pause every experiment of the group">
              Pause all
            </button>
            <button type="button" className="danger" onClick={() => manage('stop')} aria-label="Stop every experiment of the group">
              Stop all
            </button>
          </>
        ) : null
      }
    >
      <ErrorMessage error={groups.error} what="Groups" />
      {all.length === 0 ? (
        <p className="muted">
          No groups. Create one with <code>POST /create_experiment_group</code> (see <a href="/docs">/docs</a>).
        </p>
      ) : (
        <>
          <label className="field">
            Group
            <select value={current} onChange={(e) => setSelected(e.target.value)}>
              {all.map((x) => (
                <option key={gid(x)} value={gid(x)}>
                  {str(x, 'name') ?? gid(x)}
                </option>
              ))}
            </select>
          </label>
          <ErrorMessage error={error} what="Group control" />
          <ErrorMessage error={stats.error} what="Group stats" />
          <div className="table-wrap">
            <table aria-label="Group members side by side">
              <thead>
                <tr>
                  <th />
                  {members.map(([mid, m]) => (
                    <th key={mid} className="num">
                      {str(m, 'name') ?? mid.slice(0, 8)}
                    </th>
                  ))}
                  <th className="num">Group</th>
                </tr>
              </thead>
              <tbody>
                {(
                  [
                    ['State', (o: unknown) => str(o, 'state') ?? '—'],
                    ['Requests', (o: unknown) => fmtNum(num(o, 'requests', 'total_requests'))],
                    ['Req/s', (o: unknown) => fmtSig(num(o, 'rps'))],
                    ['Success', (o: unknown) => fmtPct(successRate(o))],
                    ['Mean', (o: unknown) => fmtMs(num(o, 'average_latency', 'mean', 'latency.mean'))],
                    ['p50', (o: unknown) => fmtMs(latency(o).p50)],
                    ['p90', (o: unknown) => fmtMs(latency(o).p90)],
                    ['p99', (o: unknown) => fmtMs(latency(o).p99)],
                  ] as const
                ).map(([label, get]) => (
                  <tr key={label}>
                    <th scope="row">{label}</th>
                    {members.map(([mid, m]) => (
                      <td key={mid} className="num">
                        {get(m)}
                      </td>
                    ))}
                    <td className="num">{get(g)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Card>
  );
}
