/** "Stored aggregates" card: start a recalculation of every device, follow it, list what is stored. */
import { useState } from 'react';
import { api, withQuery } from '../../api';
import { type Column, DataTable } from '../../components/DataTable';
import { Badge, Card, ErrorMessage } from '../../components/ui';
import { fmtAgo, fmtNum, fmtSig } from '../../format';
import { usePollApi } from '../../hooks';
import type { StartedTask, StoredAggregates, StoredAggregatesList, Task } from './types';

const STORED_COLUMNS: Column<StoredAggregates>[] = [
  { head: 'Device', cell: (s) => s.device_id },
  { head: 'Count', num: true, cell: (s) => fmtNum(s.count) },
  { head: 'Median', num: true, cell: (s) => fmtSig(s.median) },
  { head: 'Computed', cell: (s) => fmtAgo(s.computed_at) },
];

export function Recalculation({ canRun }: { canRun: boolean }) {
  const [taskId, setTaskId] = useState<string | null>(null);
  const [startError, setStartError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const task = usePollApi<Task>(taskId ? `/tasks/${encodeURIComponent(taskId)}` : null, 1000);
  const done = task.data?.status === 'completed' || task.data?.status === 'failed';
  // Loaded once, and again when a recalculation ends.
  const stored = usePollApi<StoredAggregatesList>(withQuery('/devices/aggregates', { limit: 100 }), null, [
    done,
  ]);

  const start = async () => {
    setBusy(true);
    setStartError(null);
    try {
      setTaskId((await api<StartedTask>('/tasks/recalculate', { method: 'POST' })).task_id);
    } catch (e) {
      setStartError(e);
    } finally {
      setBusy(false);
    }
  };

  const t = task.data;
  return (
    <Card
      title="Stored aggregates"
      actions={
        <button
          type="button"
          className="primary"
          onClick={start}
          disabled={!canRun || busy || (!!t && !done)}
        >
          Recalculate all devices
        </button>
      }
    >
      <ErrorMessage error={startError} what="Recalculation" />
      {t && (
        <div role="status" aria-live="polite">
          <p>
            Task <code>{t.task_id.slice(0, 8)}</code>:{' '}
            <Badge tone={t.status === 'completed' ? 'ok' : t.status === 'failed' ? 'bad' : 'info'}>
              {t.status}
            </Badge>{' '}
            {fmtNum(t.progress.done)} / {fmtNum(t.progress.total)} devices
          </p>
          <progress
            aria-label="Recalculation progress"
            max={Math.max(1, t.progress.total)}
            value={t.status === 'completed' ? Math.max(1, t.progress.total) : t.progress.done}
          />
          {t.error && <p className="error">{t.error}</p>}
        </div>
      )}
      <ErrorMessage error={task.error} what="Task" />
      <ErrorMessage error={stored.error} what="Stored aggregates" />
      <DataTable
        label="Stored all-time aggregates"
        columns={STORED_COLUMNS}
        rows={stored.data?.items ?? []}
        rowKey={(s) => s.device_id}
        maxHeight={320}
        empty="Nothing stored yet; a recalculation stores every device’s all-time aggregates."
      />
    </Card>
  );
}
