import { useEffect, useRef, useState } from 'react';
import { ApiError, api, apiText, withQuery } from '../../api';
import type { LogsListResponse, LogsListSyncersResponse } from '../../api.gen';
import { type Column, DataTable } from '../../components/DataTable';
import { Badge, Card, ErrorMessage, modulePage, Stat } from '../../components/ui';
import { fmtAgo, fmtNum, fmtTime, shortId } from '../../format';
import { usePoll, usePollApi } from '../../hooks';
import { parseMetrics, sumBy } from '../../metrics';

type Syncer = LogsListSyncersResponse[number];
type LogRecord = LogsListResponse[number];

const SHOWN = 100;
const PAGE = 1000;
const MAX_PAGES_PER_TICK = 10;

/**
 * Follows GET /api/data?id=<last seen>: every record exactly once, in the server's order. It starts
 * from the most advanced syncer's position when one is known (to skip history), else from the start,
 * catching up a few pages per tick.
 */
function useTail(paused: boolean) {
  const [lines, setLines] = useState<LogRecord[]>([]);
  const [seen, setSeen] = useState(0);
  const [catchingUp, setCatchingUp] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const cursor = useRef<string | null | undefined>(undefined);

  useEffect(() => {
    if (paused) return;
    let stop = false;
    let timer: number | undefined;
    const tick = async () => {
      try {
        if (cursor.current === undefined) {
          const syncers = await api<Syncer[]>('/api/data/syncers');
          const best = syncers
            .filter((s) => s.last_id && s.lag !== null)
            .sort((a, b) => (a.lag ?? 0) - (b.lag ?? 0))[0];
          cursor.current = best?.last_id ?? null;
        }
        let pages = 0;
        let full = true;
        while (full && pages < MAX_PAGES_PER_TICK && !stop) {
          let batch: LogRecord[];
          try {
            batch = await api<LogRecord[]>(withQuery('/api/data', { id: cursor.current, limit: PAGE }));
          } catch (e) {
            // The record we followed is gone (database reset): start again from the beginning.
            if (e instanceof ApiError && e.status === 404 && !e.notAvailable && cursor.current) {
              cursor.current = null;
              continue;
            }
            throw e;
          }
          pages++;
          full = batch.length === PAGE;
          if (batch.length === 0) break;
          cursor.current = batch[batch.length - 1]!.id;
          setSeen((n) => n + batch.length);
          setLines((old) => [...batch.slice(-SHOWN).reverse(), ...old].slice(0, SHOWN));
        }
        setCatchingUp(full);
        setError(null);
      } catch (e) {
        setError(e);
      }
      if (!stop) timer = window.setTimeout(tick, 1000);
    };
    tick();
    return () => {
      stop = true;
      window.clearTimeout(timer);
    };
  }, [paused]);

  return { lines, seen, catchingUp, error };
}

function statusTone(code: number) {
  return code >= 500 ? 'bad' : code >= 400 ? 'warn' : code >= 300 ? 'info' : 'ok';
}

const REJECTION_COLUMNS: Column<[string, number]>[] = [
  { head: 'Reason', cell: ([reason]) => reason },
  { head: 'Lines', num: true, cell: ([, n]) => fmtNum(n) },
];

const SYNCER_COLUMNS: Column<Syncer>[] = [
  { head: 'Syncer', cell: (s) => s.name },
  // A long path breaks anywhere rather than pushing Lag and Reported out of a half-width card.
  { head: 'File', className: 'mono path', cell: (s) => s.target_file },
  { head: 'Last id', className: 'mono', title: (s) => s.last_id ?? '', cell: (s) => shortId(s.last_id) },
  { head: 'Written', num: true, cell: (s) => fmtNum(s.records_written) },
  {
    head: 'Lag',
    num: true,
    cell: ({ lag }) => (lag === null ? '—' : <Badge tone={lag > 1000 ? 'warn' : 'ok'}>{fmtNum(lag)}</Badge>),
  },
  {
    head: 'Reported',
    cell: (s) => (
      <>
        {fmtAgo(s.reported_at)}{' '}
        {Date.now() - new Date(s.reported_at).getTime() > 30_000 && <Badge tone="warn">stale</Badge>}
      </>
    ),
  },
];

const RECORD_COLUMNS: Column<LogRecord>[] = [
  { head: 'Time', cell: (r) => fmtTime(r.created) },
  { head: 'Status', cell: (r) => <Badge tone={statusTone(r.log.status_code)}>{r.log.status_code}</Badge> },
  { head: 'Method', cell: (r) => r.log.method },
  {
    head: 'URI',
    className: 'mono',
    title: (r) => r.log.uri,
    cell: (r) => (r.log.uri.length > 60 ? `${r.log.uri.slice(0, 60)}…` : r.log.uri),
  },
  { head: 'IP', className: 'mono', cell: (r) => r.log.ip },
];

export const LogsPage = modulePage('The logs module', 'GET /api/data', Logs);

function Logs() {
  const [paused, setPaused] = useState(false);
  const tail = useTail(paused);
  const syncers = usePollApi<Syncer[]>('/api/data/syncers', 2000);
  const counters = useLogCounters();

  return (
    <div className="grid-wide">
      <div className="grid">
        <Card title="Ingest">
          <ErrorMessage error={counters.error} what="Metrics" />
          <div className="stats">
            <Stat label="Accepted" value={fmtNum(counters.accepted)} />
            <Stat label="Accepted/s" value={fmtNum(counters.acceptedRate, 1)} />
            <Stat label="Rejected" value={fmtNum(counters.rejectedTotal)} />
          </div>
          <h3>Rejections by reason</h3>
          <DataTable
            bare
            label="Rejections by reason"
            columns={REJECTION_COLUMNS}
            rows={counters.rejected}
            rowKey={([reason]) => reason}
            empty="No line has been rejected since the server started."
          />
        </Card>
        <Card title="Syncers">
          <ErrorMessage error={syncers.error} what="Syncers" />
          <DataTable
            label="Syncer positions"
            columns={SYNCER_COLUMNS}
            rows={syncers.data ?? []}
            rowKey={(s) => s.name}
            loading={syncers.loading}
            empty={
              <>
                No syncer has reported yet. Start one with <code>telelab log-sync --target-file F</code>.
              </>
            }
          />
        </Card>
      </div>
      <Card
        title="Live tail"
        actions={
          <button type="button" onClick={() => setPaused((p) => !p)} aria-pressed={paused}>
            {paused ? 'Resume tail' : 'Pause tail'}
          </button>
        }
      >
        <p className="muted" role="status">
          {paused ? 'Paused.' : tail.catchingUp ? 'Catching up…' : 'Following new records.'}{' '}
          {fmtNum(tail.seen)} records read; newest first.
        </p>
        <ErrorMessage error={tail.error} what="Tail" />
        <DataTable
          className="tail"
          label="Latest log records"
          columns={RECORD_COLUMNS}
          rows={tail.lines}
          rowKey={(r) => r.id}
        >
          {tail.lines.length === 0 && <p className="muted">Waiting for records…</p>}
        </DataTable>
      </Card>
    </div>
  );
}

/** Accepted and rejected line counters from /metrics, with the accept rate between samples. */
function useLogCounters() {
  const prev = useRef<{ at: number; accepted: number } | null>(null);
  const metrics = usePoll((signal) => apiText('/metrics', { signal }), 2000);
  const samples = parseMetrics(metrics.data ?? '');
  const accepted = sumBy(samples, 'telelab_logs_lines_accepted_total', () => 'all').get('all') ?? 0;
  const rejectedMap = sumBy(samples, 'telelab_logs_lines_rejected_total', (l) => l.reason ?? 'unknown');
  const rejected = [...rejectedMap.entries()].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  const [acceptedRate, setRate] = useState<number | null>(null);
  useEffect(() => {
    if (!metrics.data) return;
    const now = Date.now();
    const p = prev.current;
    if (p && now > p.at) setRate(Math.max(0, accepted - p.accepted) / ((now - p.at) / 1000));
    prev.current = { at: now, accepted };
  }, [metrics.data, accepted]);
  return {
    accepted,
    acceptedRate,
    rejected,
    rejectedTotal: rejected.reduce((s, [, n]) => s + n, 0),
    error: metrics.error,
  };
}
