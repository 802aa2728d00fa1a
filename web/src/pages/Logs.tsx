import { useEffect, useRef, useState } from 'react';
import { ApiError, api, apiText, withQuery } from '../api';
import { Badge, Card, ErrorMessage, Loading, NotAvailable, Stat } from '../components/ui';
import { fmtAgo, fmtNum, fmtTime, shortId } from '../format';
import { usePoll, useRoutes } from '../hooks';
import { parseMetrics, sumBy } from '../metrics';

interface Syncer {
  name: string;
  target_file: string;
  last_id: string | null;
  records_written: number;
  reported_at: string;
  lag: number | null;
}

interface LogRecord {
  id: string;
  created: string;
  log: { ip: string; method: string; uri: string; status_code: number };
}

const SHOWN = 100;
const PAGE = 1000;
const MAX_PAGES_PER_TICK = 10;

/**
 * Follows GET /api/data?id=<last seen>: every record exactly once, in the server's order. It starts
 * from the most advanced syncer's position when one is known (to skip history), else from the start,
 * catching up a few pages per tick.
 */
function useTail(enabled: boolean, paused: boolean) {
  const [lines, setLines] = useState<LogRecord[]>([]);
  const [seen, setSeen] = useState(0);
  const [catchingUp, setCatchingUp] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const cursor = useRef<string | null | undefined>(undefined);

  useEffect(() => {
    if (!enabled || paused) return;
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
  }, [enabled, paused]);

  return { lines, seen, catchingUp, error };
}

function statusTone(code: number) {
  return code >= 500 ? 'bad' : code >= 400 ? 'warn' : code >= 300 ? 'info' : 'ok';
}

export function LogsPage() {
  const { routes, error: routesError } = useRoutes();
  const available = routes?.has('GET', '/api/data') ?? false;
  const [paused, setPaused] = useState(false);
  const tail = useTail(available, paused);
  const syncers = usePoll(
    (signal) => (available ? api<Syncer[]>('/api/data/syncers', { signal }) : Promise.resolve([])),
    2000,
    [available],
  );
  const counters = useLogCounters(available);

  if (routesError) return <ErrorMessage error={routesError} what="Route table" />;
  if (!routes) return <Loading />;
  if (!available) return <NotAvailable what="The logs module" route="GET /api/data" />;

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
          {counters.rejected.length === 0 ? (
            <p className="muted">No line has been rejected since the server started.</p>
          ) : (
            <table aria-label="Rejections by reason">
              <thead>
                <tr>
                  <th>Reason</th>
                  <th className="num">Lines</th>
                </tr>
              </thead>
              <tbody>
                {counters.rejected.map(([reason, n]) => (
                  <tr key={reason}>
                    <td>{reason}</td>
                    <td className="num">{fmtNum(n)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
        <Card title="Syncers">
          <ErrorMessage error={syncers.error} what="Syncers" />
          {syncers.loading ? (
            <Loading />
          ) : (syncers.data ?? []).length === 0 ? (
            <p className="muted">
              No syncer has reported yet. Start one with <code>telelab log-sync --target-file F</code>.
            </p>
          ) : (
            <div className="table-wrap">
              <table aria-label="Syncer positions">
                <thead>
                  <tr>
                    <th>Syncer</th>
                    <th>File</th>
                    <th>Last id</th>
                    <th className="num">Written</th>
                    <th className="num">Lag</th>
                    <th>Reported</th>
                  </tr>
                </thead>
                <tbody>
                  {(syncers.data ?? []).map((s) => {
                    const stale = Date.now() - new Date(s.reported_at).getTime() > 30_000;
                    const lag = s.lag;
                    const reported = s.reported_at;
                    return (
                      <tr key={s.name}>
                        <td>{s.name}</td>
                        <td className="mono">{s.target_file}</td>
                        <td className="mono" title={s.last_id ?? ''}>
                          {shortId(s.last_id)}
                        </td>
                        <td className="num">{fmtNum(s.records_written)}</td>
                        <td className="num">
                          {lag === null ? (
                            '—'
                          ) : (
                            <Badge tone={lag > 1000 ? 'warn' : 'ok'}>{fmtNum(lag)}</Badge>
                          )}
                        </td>
                        <td>
                          {fmtAgo(reported)} {stale && <Badge tone="warn">stale</Badge>}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
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
        <div className="table-wrap tail">
          <table aria-label="Latest log records">
            <thead>
              <tr>
                <th>Time</th>
                <th>Status</th>
                <th>Method</th>
                <th>URI</th>
                <th>IP</th>
              </tr>
            </thead>
            <tbody>
              {tail.lines.map((r) => (
                <tr key={r.id}>
                  <td>{fmtTime(r.created)}</td>
                  <td>
                    <Badge tone={statusTone(r.log.status_code)}>{r.log.status_code}</Badge>
                  </td>
                  <td>{r.log.method}</td>
                  <td className="mono" title={r.log.uri}>
                    {r.log.uri.length > 60 ? `${r.log.uri.slice(0, 60)}…` : r.log.uri}
                  </td>
                  <td className="mono">{r.log.ip}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {tail.lines.length === 0 && <p className="muted">Waiting for records…</p>}
        </div>
      </Card>
    </div>
  );
}

/** Accepted and rejected line counters from /metrics, with the accept rate between samples. */
function useLogCounters(enabled: boolean) {
  const prev = useRef<{ at: number; accepted: number } | null>(null);
  const metrics = usePoll(
    (signal) => (enabled ? apiText('/metrics', { signal }) : Promise.resolve('')),
    2000,
    [enabled],
  );
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
