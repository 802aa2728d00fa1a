/** The latency page's tables: an experiment's segments and its threshold checks. */
import type { Column } from '../../components/DataTable';
import { Badge } from '../../components/ui';
import { fmtMs, fmtNum, fmtSig } from '../../format';
import type { Check, Segment } from './types';

/** `host:pid:id` as the runner names itself: host and pid say which worker process it is. */
const workerName = (w: string | null) => {
  if (!w) return '—';
  const parts = w.split(':');
  return parts.length >= 3 ? `${parts.slice(0, -2).join(':')} · pid ${parts.at(-2)} · ${parts.at(-1)}` : w;
};

export const SEGMENT_COLUMNS: Column<Segment>[] = [
  { head: 'Segment', num: true, cell: (s) => s.index },
  { head: 'Worker', cell: (s) => workerName(s.worker) },
  {
    head: 'State',
    cell: (s) => (
      <Badge tone={s.state === 'running' ? 'ok' : s.state === 'done' ? 'info' : 'muted'}>{s.state}</Badge>
    ),
  },
  { head: 'Requests', num: true, cell: (s) => fmtNum(s.requests) },
  { head: 'Req/s', num: true, cell: (s) => fmtSig(s.rps) },
  { head: 'p50', num: true, cell: (s) => fmtMs(s.p50) },
  { head: 'p99', num: true, cell: (s) => fmtMs(s.p99) },
  { head: 'Claims', num: true, cell: (s) => s.run_attempts },
];

export const CHECK_COLUMNS: Column<Check>[] = [
  { head: 'Check', cell: (c) => c.name },
  { head: 'Limit', num: true, cell: (c) => fmtSig(c.limit) },
  { head: 'Actual', num: true, cell: (c) => fmtSig(c.actual) },
  { head: 'Result', cell: (c) => <Badge tone={c.passed ? 'ok' : 'bad'}>{c.passed ? 'pass' : 'fail'}</Badge> },
];
