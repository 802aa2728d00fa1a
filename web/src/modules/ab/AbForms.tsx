/** The A/B page's forms: create an experiment, and ask for assignments as a device would. */
import { type FormEvent, useState } from 'react';
import { api } from '../../api';
import { Card, ErrorMessage } from '../../components/ui';
import type { NewExperiment, OptionValue } from './types';

export const ADMIN = '/api/v1/admin/experiments';

interface OptionDraft {
  value: string;
  weight: string;
}

/** A decimal number as JSON writes one (not 0x10, 1_000 or Infinity, which Number() also reads). */
const DECIMAL = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** Decimal numbers become numbers (prices); anything else stays a string (colours, "0x10"). */
function parseValue(v: string): OptionValue {
  const t = v.trim();
  return DECIMAL.test(t) && Number.isFinite(Number(t)) ? Number(t) : t;
}

export function CreateExperiment({ onCreated }: { onCreated: () => void }) {
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
      const body: NewExperiment = {
        name: name.trim(),
        options: options.map((o) => ({ value: parseValue(o.value), weight: Number(o.weight) })),
      };
      await api(ADMIN, { method: 'POST', body });
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
export function TryDevice() {
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
