import { useMemo } from 'react';
import { Chart } from '../../components/Chart';
import { type Column, DataTable } from '../../components/DataTable';
import { Badge, Stat } from '../../components/ui';
import { fmtMs, fmtNum, fmtPct, fmtSig } from '../../format';
import type { CapacityRecord, CapacityStep, Experiment } from './types';

const LIMITED_BY: Record<string, string> = {
  slo: 'the SLO failed above it',
  max_rps: 'every rate up to max_rps held',
  max_steps: 'the search used all its steps',
  interrupted: 'stopped before the search ended',
};

const STEP_COLUMNS: Column<CapacityStep>[] = [
  { head: 'Step', num: true, cell: (s) => s.index + 1 },
  { head: 'Phase', cell: (s) => s.phase },
  { head: 'Rate req/s', num: true, cell: (s) => fmtNum(s.rate_rps) },
  { head: 'Try', num: true, cell: (s) => s.attempt },
  {
    head: 'SLO',
    cell: (s) => (
      <Badge tone={s.held ? 'ok' : 'bad'}>
        {s.held ? 'held' : s.stopped_early ? 'failed early' : 'failed'}
      </Badge>
    ),
  },
  { head: 'Requests', num: true, cell: (s) => fmtNum(s.requests) },
  { head: 'p50', num: true, cell: (s) => fmtMs(s.latency.count ? s.latency.p50 : null) },
  { head: 'p99', num: true, cell: (s) => fmtMs(s.latency.count ? s.latency.p99 : null) },
  { head: 'Errors', num: true, cell: (s) => fmtPct(s.error_rate) },
  {
    head: 'Checks',
    cell: (s) =>
      s.checks
        .map((c) => `${c.name} ${fmtSig(c.actual)}${c.passed ? '' : ` > ${fmtSig(c.limit)}`}`)
        .join(', '),
  },
];

/**
 * A capacity experiment: the answer so far, the rates tried (held ones green, failed ones red, on the
 * left axis) with each step's p99 from the scheduled send time (right axis), and the steps as a table.
 */
export function CapacityPanel({
  experiment,
  capacity,
}: {
  experiment: Experiment;
  capacity: CapacityRecord | null;
}) {
  const steps = capacity?.steps ?? [];
  const data = useMemo(() => {
    // One point per step, at the time it was judged (steps stored without a time share the last one).
    let last = Date.now() / 1000;
    const xs = steps.map((s) => {
      if (s.at) last = new Date(s.at).getTime() / 1000;
      return last;
    });
    return [
      xs,
      steps.map((s) => (s.held ? s.rate_rps : null)),
      steps.map((s) => (s.held ? null : s.rate_rps)),
      steps.map((s) => (s.latency.count ? s.latency.p99 : null)),
    ] as [number[], ...(number | null)[][]];
  }, [steps]);
  const slo = Object.entries(experiment.settings.slo ?? {})
    .map(([k, v]) => `${k} ≤ ${v}`)
    .join(', ');
  const search = experiment.settings.search;
  const answer = capacity?.capacity_rps ?? null;
  return (
    <>
      <div className="stats">
        <Stat
          label="Capacity"
          value={answer === null ? '—' : `${fmtNum(answer)} req/s`}
          hint={capacity?.limited_by ? LIMITED_BY[capacity.limited_by] : 'The highest rate that held so far'}
        />
        <Stat
          label="Failed at"
          value={capacity?.failed_rps == null ? '—' : `${fmtNum(capacity.failed_rps)} req/s`}
        />
        <Stat label="Steps" value={fmtNum(steps.length)} />
        <Stat
          label="Trying now"
          value={capacity?.current ? `${fmtNum(capacity.current.rate_rps)} req/s` : '—'}
          hint={
            capacity?.current ? `step ${capacity.current.index + 1}, ${capacity.current.phase}` : undefined
          }
        />
      </div>
      <p className="muted">
        SLO: {slo || '—'}
        {search
          ? ` · from ${fmtNum(search.start_rps)} to at most ${fmtNum(search.max_rps)} req/s · ` +
            `${search.warmup_seconds} s warm-up + ${search.window_seconds} s judged per step`
          : ''}
        {capacity?.limited_by ? ` · ended: ${LIMITED_BY[capacity.limited_by]}` : ''}
      </p>
      <Chart
        title="Capacity search: rate tried (held / failed) and p99 of each step"
        data={data}
        series={[
          { label: 'held req/s', color: '#1a7f37', scale: 'rps', points: true },
          { label: 'failed req/s', color: '#cf222e', scale: 'rps', points: true },
          { label: 'p99 ms', color: '#8250df', scale: 'ms', spanGaps: true },
        ]}
        units={{ rps: 'rate tried (req/s)', ms: 'p99 (ms)' }}
        zero={['rps', 'ms']}
        emptyText={experiment.state === 'created' ? 'Start the experiment to search.' : 'No step judged yet.'}
      />
      {steps.length > 0 && (
        <>
          <h3>Steps</h3>
          <DataTable
            label="Capacity steps"
            columns={STEP_COLUMNS}
            rows={[...steps].reverse()}
            rowKey={(s) => String(s.index)}
            maxHeight={320}
          />
        </>
      )}
    </>
  );
}
