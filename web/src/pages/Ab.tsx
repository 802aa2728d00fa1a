import { type FormEvent, useState } from 'react';
import { api, type RouteTable } from '../api';
import { Badge, Card, ErrorMessage, Loading, modulePage } from '../components/ui';
import { fmtDateTime, fmtNum } from '../format';
import { usePollApi } from '../hooks';

type OptionValue = string | number;

interface OptionStats {
  value: OptionValue;
  weight: number;
  devices: number;
  share: number | null;
  percent: string;
  expected: number;
}

interface ExperimentStats {
  name: string;
  status: 'running' | 'stopped';
  started_at: string;
  stopped_at: string | null;
  version: number;
  devices: number;
  options: OptionStats[];
  srm: {
    chi_square: number;
    df: number;
    p_value: number;
    mismatch: boolean;
    /** The server's one reading of the check, as its stats page shows it too. */
    verdict: 'too_few_devices' | 'no_mismatch' | 'mismatch';
    summary: string;
  };
}

interface StatsAnswer {
  generated_at: string;
  srm_alpha: number;
  srm_min_expected: number;
  experiments: ExperimentStats[];
}

const ADMIN = '/api/v1/admin/experiments';
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

interface OptionDraft {
  value: string;
  weight: string;
}

/** Numeric-looking values become numbers (prices); anything else stays a string (colours). */
function parseValue(v: string): OptionValue {
  const t = v.trim();
  return t !== '' && Number.isFinite(Number(t)) ? Number(t) : t;
}

function CreateExperiment({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [options, setOptions] = useState<OptionDraft[]>([
    { value: '', weight: '1' },
    { value: '', weight: '1' },
  ]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<string | null>(null);

  const set = (i: number, patch: Partial<OptionDraft>) =>
    setOptions((os) => os.map((o, j) => (j === i ? { ...o, ...patch } : o)));

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    setCreated(null);
    try {
      await api(ADMIN, {
        method: 'POST',
        body: {
          name: name.trim(),
          options: options.map((o) => ({ value: parseValue(o.value), weight: Number(o.weight) })),
        },
      });
      setCreated(name.trim());
      setName('');
      setOptions([
        { value: '', weight: '1' },
        { value: '', weight: '1' },
      ]);
      onCreated();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="New experiment">
      <form className="form" onSubmit={submit} aria-label="New A/B experiment">
        <label className="field">
          Name
          <input
            required
            value={name}
            onChange={(e) => setName(e.target.value)}
            pattern="[A-Za-z][A-Za-z0-9_.\-]{0,63}"
            placeholder="checkout_layout"
          />
        </label>
        <fieldset>
          <legend>Options (values that look like numbers are sent as numbers)</legend>
          {options.map((o, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity but their position.
            <div className="row" key={i}>
              <label className="field">
                Value {i + 1}
                <input required value={o.value} onChange={(e) => set(i, { value: e.target.value })} />
              </label>
              <label className="field">
                Weight {i + 1}
                <input
                  required
                  type="number"
                  min={1}
                  step={1}
                  value={o.weight}
                  onChange={(e) => set(i, { weight: e.target.value })}
                />
              </label>
              <button
                type="button"
                className="icon"
                aria-label={`Remove option ${i + 1}`}
                disabled={options.length <= 2}
                onClick={() => setOptions((os) => os.filter((_, j) => j !== i))}
              >
                ✕
              </button>
            </div>
          ))}
          <button type="button" onClick={() => setOptions((os) => [...os, { value: '', weight: '1' }])}>
            Add option
          </button>
        </fieldset>
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            Create and start
          </button>
        </div>
        <ErrorMessage error={error} what="Create" />
        {created && <p role="status">Experiment “{created}” started; it takes new devices only.</p>}
      </form>
    </Card>
  );
}

/** A fresh 32-hex-digit token (crypto.randomUUID needs a secure context; plain http on a LAN is not). */
function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Asks for assignments with a token, as a device would: shows what a (new or returning) device gets. */
function TryDevice() {
  const [token, setToken] = useState('');
  const [answer, setAnswer] = useState<unknown>(null);
  const [error, setError] = useState<unknown>(null);
  const ask = async (t: string) => {
    setError(null);
    setAnswer(null);
    try {
      setAnswer(await api('/api/v1/experiments', { headers: { 'device-token': t } }));
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Card title="Try a device">
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          ask(token);
        }}
      >
        <label className="field">
          Device-Token
          <input value={token} onChange={(e) => setToken(e.target.value)} placeholder="8-128 characters" />
        </label>
        <button type="submit">Ask</button>
        <button
          type="button"
          onClick={() => {
            const t = randomToken();
            setToken(t);
            ask(t);
          }}
        >
          New device
        </button>
      </form>
      <ErrorMessage error={error} what="Assignment" />
      {answer !== null && <pre className="mono">{JSON.stringify(answer)}</pre>}
      <p className="muted">A new device counts in the statistics above.</p>
    </Card>
  );
}
