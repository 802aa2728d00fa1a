import { type FormEvent, useState } from 'react';
import { api } from '../../api';
import type { LatencyCreateExperimentResponse, LatencyCreateGroupResponse } from '../../api.gen';
import { Card, ErrorMessage } from '../../components/ui';
import type { Profile } from './types';

export interface ProfileDraft {
  users: string;
  duration_seconds: string;
  interval_seconds: string;
}

export const newProfile = (): ProfileDraft => ({
  users: '5',
  duration_seconds: '30',
  interval_seconds: '0.1',
});
export const toProfile = (p: ProfileDraft): Profile => ({
  users: Number(p.users),
  duration_seconds: Number(p.duration_seconds),
  interval_seconds: Number(p.interval_seconds),
});

export function ProfileRows({
  profiles,
  onChange,
}: {
  profiles: ProfileDraft[];
  onChange: (p: ProfileDraft[]) => void;
}) {
  const set = (i: number, patch: Partial<ProfileDraft>) =>
    onChange(profiles.map((p, j) => (j === i ? { ...p, ...patch } : p)));
  const num = (i: number, key: keyof ProfileDraft, label: string, min: number, step: string) => (
    <label className="field">
      {label} {i + 1}
      <input
        required
        type="number"
        min={min}
        step={step}
        value={profiles[i]![key]}
        onChange={(e) => set(i, { [key]: e.target.value })}
      />
    </label>
  );
  return (
    <fieldset>
      <legend>Load profiles (stages, run in order)</legend>
      {profiles.map((_, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: stages are identified by their position.
        <div className="row" key={i}>
          {num(i, 'users', 'Users', 0, '1')}
          {num(i, 'duration_seconds', 'Duration (s)', 0.1, 'any')}
          {num(i, 'interval_seconds', 'Interval (s)', 0, 'any')}
          <button
            type="button"
            className="icon"
            aria-label={`Remove stage ${i + 1}`}
            disabled={profiles.length <= 1}
            onClick={() => onChange(profiles.filter((_, j) => j !== i))}
          >
            ✕
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...profiles, newProfile()])}>
        Add stage
      </button>
    </fieldset>
  );
}

/**
 * The port of the bundled latency target: the API's PORT + 1, and the API serves this page, so its own
 * port + 1 (8001 with the default PORT 8000, also when the page has no port of its own).
 */
function bundledTargetPort(): string {
  const page = Number(window.location.port);
  return String(page > 0 && page < 65535 ? page + 1 : 8001);
}

export function CreateExperiment({ onCreated }: { onCreated: (id: string) => void }) {
  const [name, setName] = useState('demo');
  const [host, setHost] = useState('127.0.0.1');
  const [port, setPort] = useState(bundledTargetPort);
  const [path, setPath] = useState('/api/latency');
  const [model, setModel] = useState('closed');
  const [p99, setP99] = useState('');
  const [success, setSuccess] = useState('');
  const [abort, setAbort] = useState(false);
  const [segments, setSegments] = useState('1');
  const [profiles, setProfiles] = useState<ProfileDraft[]>([newProfile()]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    const thresholds: Record<string, number | boolean> = {};
    if (p99) thresholds.p99_ms = Number(p99);
    if (success) thresholds.success_rate = Number(success);
    const capacity = model === 'capacity';
    if (abort && !capacity && Object.keys(thresholds).length) thresholds.abort = true;
    // A capacity search takes the limits as its SLO (the server names what is missing) and no profiles.
    const load = capacity
      ? { slo: thresholds }
      : {
          load_profiles: profiles.map(toProfile),
          ...(Object.keys(thresholds).length ? { thresholds } : {}),
          ...(Number(segments) > 1 ? { segments: Number(segments) } : {}),
        };
    try {
      const created = await api<LatencyCreateExperimentResponse>('/create_experiment', {
        method: 'POST',
        body: {
          name: name.trim(),
          host: host.trim(),
          port: Number(port),
          ...(path.trim() ? { path: path.trim() } : {}),
          model,
          ...load,
        },
      });
      onCreated(created.experiment_id);
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
            <input
              required
              type="number"
              min={1}
              max={65535}
              value={port}
              onChange={(e) => setPort(e.target.value)}
            />
          </label>
          <label className="field">
            Path
            <input value={path} onChange={(e) => setPath(e.target.value)} pattern="/.*" />
          </label>
          <label className="field">
            Model
            <select value={model} onChange={(e) => setModel(e.target.value)}>
              <option value="closed">closed (users)</option>
              <option value="arrival-rate">open (arrival rate)</option>
              <option value="capacity">capacity search (SLO)</option>
            </select>
          </label>
          {model !== 'capacity' && (
            <label className="field" title="Parts of the load run by different worker processes">
              Segments
              <input
                type="number"
                min={1}
                max={64}
                step={1}
                value={segments}
                onChange={(e) => setSegments(e.target.value)}
              />
            </label>
          )}
        </div>
        {model !== 'capacity' && <ProfileRows profiles={profiles} onChange={setProfiles} />}
        <fieldset>
          <legend>
            {model === 'capacity'
              ? 'SLO (the search finds the highest rate that keeps it)'
              : 'Thresholds (optional)'}
          </legend>
          <div className="row">
            <label className="field">
              p99 at most (ms)
              <input type="number" min={0} step="any" value={p99} onChange={(e) => setP99(e.target.value)} />
            </label>
            <label className="field">
              Success at least (%)
              <input
                type="number"
                min={0}
                max={100}
                step="any"
                value={success}
                onChange={(e) => setSuccess(e.target.value)}
              />
            </label>
            {model !== 'capacity' && (
              <label className="field">
                Abort on failure
                <input type="checkbox" checked={abort} onChange={(e) => setAbort(e.target.checked)} />
              </label>
            )}
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

export function CreateGroup({ onCreated }: { onCreated: (id: string) => void }) {
  const [name, setName] = useState('compare');
  // Two names of the one bundled target, as the README's quick start compares them.
  const [targets, setTargets] = useState(() => {
    const port = bundledTargetPort();
    return `127.0.0.1:${port}, localhost:${port}`;
  });
  const [profiles, setProfiles] = useState<ProfileDraft[]>([newProfile()]);
  const [error, setError] = useState<unknown>(null);

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setError(null);
    try {
      const experiments = targets
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((t) => {
          const at = t.lastIndexOf(':');
          const host = t.slice(0, at).replace(/^\[|\]$/g, '');
          return {
            name: `${name} ${t}`,
            host,
            port: Number(t.slice(at + 1)),
            load_profiles: profiles.map(toProfile),
          };
        });
      const created = await api<LatencyCreateGroupResponse>('/create_experiment_group', {
        method: 'POST',
        body: { name: name.trim(), experiments },
      });
      onCreated(created.group_id);
    } catch (e) {
      setError(e);
    }
  };

  return (
    <details>
      <summary>New group (compare targets)</summary>
      <form className="form" onSubmit={submit} aria-label="New experiment group">
        <div className="fields">
          <label className="field">
            Group name
            <input required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label className="field">
            Targets (host:port, comma separated)
            <input required value={targets} onChange={(e) => setTargets(e.target.value)} />
          </label>
        </div>
        <ProfileRows profiles={profiles} onChange={setProfiles} />
        <div className="actions">
          <button type="submit" className="primary">
            Create group
          </button>
        </div>
        <ErrorMessage error={error} what="Create group" />
      </form>
    </details>
  );
}
