/** The control page's tables and status timeline. */
import { type Column, DataTable } from '../../components/DataTable';
import { Badge } from '../../components/ui';
import { fmtClock, fmtNum, fmtP, fmtSig } from '../../format';
import type { Decision, DecisionWindow, Period, Status } from './types';

const secs = (iso: string) => new Date(iso).getTime() / 1000;

export function StatusBadge({ status }: { status: Status }) {
  return <Badge tone={status === 'up' ? 'ok' : 'bad'}>{status}</Badge>;
}

export const WINDOW_COLUMNS: Column<{ name: string; w: DecisionWindow }>[] = [
  { head: 'Window', rowHeader: true, cell: (r) => r.name },
  { head: 'From', cell: (r) => fmtClock(r.w.from_datetime) },
  { head: 'n', num: true, cell: (r) => fmtNum(r.w.n) },
  { head: 'Mean', num: true, cell: (r) => fmtSig(r.w.mean) },
  { head: 'Std', num: true, cell: (r) => fmtSig(r.w.std) },
];

export const DECISION_COLUMNS: Column<Decision>[] = [
  { head: 'Decided', cell: (d) => fmtClock(d.decided_at) },
  {
    head: 'Status',
    cell: (d) => (
      <>
        <StatusBadge status={d.status} /> {d.changed && <Badge tone="warn">changed</Badge>}
      </>
    ),
  },
  { head: 'p', num: true, cell: (d) => fmtP(d.p) },
  { head: 'Reason', cell: (d) => d.reason.replaceAll('_', ' ') },
  { head: 'n prev', num: true, cell: (d) => fmtNum(d.previous_window.n) },
  { head: 'n curr', num: true, cell: (d) => fmtNum(d.current_window.n) },
  { head: 'mean prev', num: true, cell: (d) => fmtSig(d.previous_window.mean) },
  { head: 'mean curr', num: true, cell: (d) => fmtSig(d.current_window.mean) },
  { head: 't', num: true, cell: (d) => fmtSig(d.t) },
  { head: 'df', num: true, cell: (d) => fmtSig(d.df) },
  {
    head: 'Delivery',
    title: (d) =>
      d.delivery_error ??
      (d.delivery === 'sent'
        ? 'Written to a manipulator that never replies (it read the line and closed the connection)'
        : d.delivery === 'acknowledged'
          ? 'The manipulator replied ok'
          : undefined),
    cell: (d) => <DeliveryBadge d={d} />,
  },
];

function DeliveryBadge({ d }: { d: Decision }) {
  const state = d.delivery ?? (d.delivered === null ? 'pending' : d.delivered ? 'acknowledged' : 'failed');
  switch (state) {
    case 'pending':
      return <Badge tone="muted">in flight</Badge>;
    case 'acknowledged':
      return <>acknowledged</>;
    case 'sent':
      return <Badge tone="muted">sent</Badge>;
    case 'not_sent':
      return <>—</>;
    default:
      return <Badge tone="warn">failed</Badge>;
  }
}

const PERIOD_COLUMNS: Column<Period>[] = [
  { head: 'From', cell: (p) => fmtClock(p.from_datetime) },
  { head: 'To', cell: (p) => fmtClock(p.to_datetime) },
  { head: 'Status', cell: (p) => <StatusBadge status={p.status} /> },
];

export function Timeline({ periods }: { periods: Period[] }) {
  if (periods.length === 0) return <p className="muted">No status recorded in this range.</p>;
  const start = secs(periods[0]!.from_datetime);
  const end = secs(periods[periods.length - 1]!.to_datetime);
  const total = Math.max(1e-3, end - start);
  return (
    <>
      <div
        className="timeline"
        role="img"
        aria-label={`Status periods: ${periods.map((p) => p.status).join(', ')}`}
      >
        {periods.map((p) => (
          <div
            key={p.from_datetime}
            className={p.status === 'up' ? 'tl-up' : 'tl-down'}
            style={{ width: `${((secs(p.to_datetime) - secs(p.from_datetime)) / total) * 100}%` }}
            title={`${p.status} ${fmtClock(p.from_datetime)}–${fmtClock(p.to_datetime)}`}
          />
        ))}
      </div>
      <div className="legend">
        <span>{fmtClock(periods[0]!.from_datetime)}</span>
        <span>
          <span className="swatch tl-up" /> up <span className="swatch tl-down" /> down
        </span>
        <span>{fmtClock(periods[periods.length - 1]!.to_datetime)}</span>
      </div>
      <DataTable
        label="Status periods"
        columns={PERIOD_COLUMNS}
        rows={[...periods].reverse().slice(0, 8)}
        rowKey={(p) => p.from_datetime}
      />
    </>
  );
}
