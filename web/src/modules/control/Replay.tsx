import { type FormEvent, useState } from 'react';
import { api } from '../../api';
import { type Column, DataTable } from '../../components/DataTable';
import { Badge, Card, ErrorMessage } from '../../components/ui';
import { fmtClock, fmtNum, fmtPct, fmtSig } from '../../format';
import type { Period, ReplayAnswer, ReplayDecision, ReplayRequest, ReplaySummary } from './types';

/** Live settings the form starts from (GET /control/status). */
export interface ReplayDefaults {
  alpha: number;
  minDwell: number;
  retentionSeconds: number;
  intervalSeconds: number;
}

const SHOWN = 100;

/** "Replay" card: choose a period and a detector, see the status it would have produced beside the real one. */
export function ReplayPanel({ defaults }: { defaults: ReplayDefaults }) {
  const maxMinutes = Math.max(1, Math.floor((defaults.retentionSeconds - 3 * defaults.intervalSeconds) / 60));
  const [minutes, setMinutes] = useState(String(Math.min(5, maxMinutes)));
  const [detector, setDetector] = useState<'ttest' | 'cusum'>('cusum');
  const [alpha, setAlpha] = useState(String(defaults.alpha));
  const [minDwell, setMinDwell] = useState(String(defaults.minDwell));
  const [arl, setArl] = useState('500');
  const [k, setK] = useState('0.5');
  const [stationaryMinutes, setStationaryMinutes] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [answer, setAnswer] = useState<ReplayAnswer | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const to = new Date();
    const from = new Date(to.getTime() - Number(minutes) * 60_000);
    const body: ReplayRequest = { from: from.toISOString(), to: to.toISOString(), detector };
    if (detector === 'ttest') Object.assign(body, { alpha: Number(alpha), min_dwell: Number(minDwell) });
    else Object.assign(body, { arl: Number(arl), k: Number(k) });
    if (stationaryMinutes.trim() !== '') {
      const end = new Date(from.getTime() + Number(stationaryMinutes) * 60_000);
      body.stationary = { from: from.toISOString(), to: end.toISOString() };
    }
    try {
      setAnswer(await api<ReplayAnswer>('/control/replay', { method: 'POST', body }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Replay">
      <form className="form" onSubmit={submit} aria-label="Replay the stored readings">
        <div className="row">
          <label className="field">
            Last minutes
            <input
              required
              type="number"
              min={1}
              max={maxMinutes}
              step="any"
              value={minutes}
              onChange={(e) => setMinutes(e.target.value)}
            />
          </label>
          <label className="field">
            Detector
            <select value={detector} onChange={(e) => setDetector(e.target.value as 'ttest' | 'cusum')}>
              <option value="ttest">t-test (live rule)</option>
              <option value="cusum">CUSUM</option>
            </select>
          </label>
          {detector === 'ttest' ? (
            <>
              <label className="field">
                alpha
                <input
                  required
                  type="number"
                  min={0.000001}
                  max={0.999999}
                  step="any"
                  value={alpha}
                  onChange={(e) => setAlpha(e.target.value)}
                />
              </label>
              <label className="field">
                min dwell
                <input
                  required
                  type="number"
                  min={0}
                  max={1000}
                  step={1}
                  value={minDwell}
                  onChange={(e) => setMinDwell(e.target.value)}
                />
              </label>
            </>
          ) : (
            <>
              <label className="field">
                target ARL (decisions)
                <input
                  required
                  type="number"
                  min={10}
                  step="any"
                  value={arl}
                  onChange={(e) => setArl(e.target.value)}
                />
              </label>
              <label className="field">
                k (standard errors)
                <input
                  required
                  type="number"
                  min={0.05}
                  max={10}
                  step="any"
                  value={k}
                  onChange={(e) => setK(e.target.value)}
                />
              </label>
            </>
          )}
          <label className="field">
            Stationary: first minutes (optional)
            <input
              type="number"
              min={0}
              step="any"
              value={stationaryMinutes}
              placeholder="none"
              onChange={(e) => setStationaryMinutes(e.target.value)}
            />
          </label>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Replaying…' : 'Replay'}
          </button>
        </div>
      </form>
      <ErrorMessage error={error} what="Replay" />
      {answer && <ReplayResult answer={answer} />}
    </Card>
  );
}

function ReplayResult({ answer }: { answer: ReplayAnswer }) {
  const start = Date.parse(answer.from);
  const end = Date.parse(answer.to);
  const rows = [
    { name: `Replay: ${answer.detector.type}`, s: answer.summary },
    { name: 'Live controller', s: answer.live },
  ];
  return (
    <>
      <h3>
        Status {fmtClock(answer.from)}–{fmtClock(answer.to)}
      </h3>
      {rows.map((r) => (
        <div key={r.name} style={{ marginBottom: '0.4rem' }}>
          <div className="muted">{r.name}</div>
          <StatusBar periods={r.s.timeline} start={start} end={end} label={r.name} />
        </div>
      ))}
      <div className="legend">
        <span>{fmtClock(answer.from)}</span>
        <span>
          <span className="swatch tl-up" /> up <span className="swatch tl-down" /> down (grey: no decision
          yet)
        </span>
        <span>{fmtClock(answer.to)}</span>
      </div>
      <DataTable label="Replay counts" columns={COUNT_COLUMNS} rows={rows} rowKey={(r) => r.name} />
      <h3>Replayed decisions</h3>
      <DataTable
        label="Replayed decisions"
        columns={DECISION_COLUMNS}
        rows={[...answer.decisions].reverse().slice(0, SHOWN)}
        rowKey={(d) => d.decided_at}
        rowProps={(d) => ({ title: d.detail })}
        maxHeight={320}
        empty="No decision time in this period."
      />
    </>
  );
}

/** Status periods on a fixed [start, end] axis, so two bars line up. */
function StatusBar({
  periods,
  start,
  end,
  label,
}: {
  periods: Period[];
  start: number;
  end: number;
  label: string;
}) {
  const total = Math.max(1, end - start);
  const left = (iso: string) => ((Date.parse(iso) - start) / total) * 100;
  return (
    <div
      className="timeline"
      style={{ position: 'relative' }}
      role="img"
      aria-label={`${label}: ${periods.map((p) => p.status).join(', ') || 'no status'}`}
    >
      {periods.map((p) => (
        <div
          key={p.from_datetime}
          className={p.status === 'up' ? 'tl-up' : 'tl-down'}
          style={{
            position: 'absolute',
            top: 0,
            bottom: 0,
            left: `${left(p.from_datetime)}%`,
            width: `${left(p.to_datetime) - left(p.from_datetime)}%`,
          }}
          title={`${p.status} ${fmtClock(p.from_datetime)}–${fmtClock(p.to_datetime)}`}
        />
      ))}
    </div>
  );
}

const COUNT_COLUMNS: Column<{ name: string; s: ReplaySummary }>[] = [
  { head: 'Decider', rowHeader: true, cell: (r) => r.name },
  { head: 'Decisions', num: true, cell: (r) => fmtNum(r.s.decisions) },
  { head: 'Switches', num: true, cell: (r) => fmtNum(r.s.switches) },
  { head: 'Up (s)', num: true, cell: (r) => fmtNum(r.s.up_seconds) },
  { head: 'Down (s)', num: true, cell: (r) => fmtNum(r.s.down_seconds) },
  {
    head: 'False switches (stationary)',
    num: true,
    cell: (r) =>
      r.s.stationary
        ? `${r.s.stationary.switches} / ${r.s.stationary.decisions} (${fmtPct(r.s.stationary.false_switch_rate * 100)})`
        : '—',
  },
];

const DECISION_COLUMNS: Column<ReplayDecision>[] = [
  { head: 'Decided', cell: (d) => fmtClock(d.decided_at) },
  {
    head: 'Status',
    cell: (d) => (
      <>
        <Badge tone={d.status === 'up' ? 'ok' : 'bad'}>{d.status}</Badge>{' '}
        {d.changed && <Badge tone="warn">changed</Badge>}
      </>
    ),
  },
  { head: 'Reason', cell: (d) => d.reason.replaceAll('_', ' ') },
  { head: 'p / z', num: true, cell: (d) => (d.cusum ? fmtSig(d.cusum.z) : fmtSig(d.p)) },
  {
    head: 'S+ / S- vs h',
    num: true,
    cell: (d) =>
      d.cusum ? `${fmtSig(d.cusum.s_up)} / ${fmtSig(d.cusum.s_down)} vs ${fmtSig(d.cusum.threshold)}` : '—',
  },
];
