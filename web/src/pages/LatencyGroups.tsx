import { useState } from 'react';
import { api, withQuery } from '../api';
import { Card, ErrorMessage } from '../components/ui';
import { fmtMs, fmtNum, fmtPct, fmtSig } from '../format';
import { usePoll } from '../hooks';
import { CreateGroup } from './LatencyForms';
import type { Group, GroupStats, LiveStats } from './latency.types';

/** Groups: the same load against several targets, members side by side with merged totals. */
export function Groups() {
  const groups = usePoll((signal) => api<Group[]>('/list_groups', { signal }), 5000);
  const [selected, setSelected] = useState('');
  const all = groups.data ?? [];
  const current = selected || all[all.length - 1]?.id || '';
  const stats = usePoll(
    (signal) =>
      current
        ? api<GroupStats>(withQuery('/group_stats', { group_id: current }), { signal })
        : Promise.resolve(null),
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

  const g = stats.data;
  const members = Object.entries(g?.experiments_stats ?? {});
  const rows: [string, (o: Partial<LiveStats> & Partial<GroupStats>) => string][] = [
    ['State', (o) => o.state ?? '—'],
    ['Requests', (o) => fmtNum(o.total_requests)],
    ['Req/s', (o) => fmtSig(o.rate)],
    ['Success', (o) => fmtPct(o.success_rate)],
    ['Mean', (o) => fmtMs(o.average_latency)],
    ['p50', (o) => fmtMs(o.p50)],
    ['p90', (o) => fmtMs(o.p90)],
    ['p99', (o) => fmtMs(o.p99)],
  ];
  return (
    <Card
      title="Group comparison"
      actions={
        current ? (
          <>
            <button
              type="button"
              onClick={() => manage('start')}
              aria-label="Start every experiment of the group"
            >
              Start all
            </button>
            <button
              type="button"
              onClick={() => manage('pause')}
              aria-label="Pause every experiment of the group"
            >
              Pause all
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => manage('stop')}
              aria-label="Stop every experiment of the group"
            >
              Stop all
            </button>
          </>
        ) : null
      }
    >
      <ErrorMessage error={groups.error} what="Groups" />
      {all.length > 0 && (
        <>
          <label className="field">
            Group
            <select value={current} onChange={(e) => setSelected(e.target.value)}>
              {all.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name} ({x.state})
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
                      {m.name}
                    </th>
                  ))}
                  <th className="num">Whole group</th>
                </tr>
              </thead>
              <tbody>
                {rows.map(([label, get]) => (
                  <tr key={label}>
                    <th scope="row">{label}</th>
                    {members.map(([mid, m]) => (
                      <td key={mid} className="num">
                        {get(m)}
                      </td>
                    ))}
                    <td className="num">{g ? get(g) : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <CreateGroup
        onCreated={(id) => {
          setSelected(id);
          groups.refresh();
        }}
      />
    </Card>
  );
}

/** One experiment per target with the same profiles: the seed's way to compare targets. */
