import type { HTMLAttributes, ReactNode } from 'react';
import { Loading } from './ui';

/** One column of a DataTable: its header and how a row fills its cell. */
export interface Column<T> {
  head: string;
  /** React key of the column; the header by default (set it when headers may repeat). */
  key?: string;
  /** Figures: right-aligned (the `num` class) in the header and the cells. */
  num?: boolean;
  /** Extra class of the cells, e.g. `mono`. */
  className?: string;
  /** The cells name their row (`<th scope="row">`), for tables read across. */
  rowHeader?: boolean;
  /** A cell's tooltip. */
  title?: (row: T) => string | undefined;
  cell: (row: T) => ReactNode;
}

const classes = (...names: (string | false | undefined)[]) => names.filter(Boolean).join(' ') || undefined;

/**
 * The dashboard's table: a header row from `columns`, a row per item, inside a `table-wrap` that
 * scrolls sideways on narrow screens (and down past `maxHeight`). While `loading` with no rows yet it
 * shows "Loading…", then `empty` (when given) instead of a table without rows.
 */
export function DataTable<T>({
  label,
  columns,
  rows,
  rowKey,
  rowProps,
  maxHeight,
  className,
  bare,
  loading,
  empty,
  children,
}: {
  /** The table's accessible name (tests find tables by it). */
  label?: string;
  columns: Column<T>[];
  rows: readonly T[];
  rowKey: (row: T) => string;
  /** More attributes of a row's `<tr>`: a selection class, a tooltip. */
  rowProps?: (row: T) => HTMLAttributes<HTMLTableRowElement>;
  maxHeight?: number;
  /** Extra class of the wrapper. */
  className?: string;
  /** No wrapper: a short table inside a card. */
  bare?: boolean;
  loading?: boolean;
  empty?: ReactNode;
  /** Shown after the table, inside the wrapper. */
  children?: ReactNode;
}) {
  if (loading && rows.length === 0) return <Loading />;
  if (empty !== undefined && rows.length === 0) return <p className="muted">{empty}</p>;
  const table = (
    <table aria-label={label}>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c.key ?? c.head} className={c.num ? 'num' : undefined}>
              {c.head}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={rowKey(row)} {...rowProps?.(row)}>
            {columns.map((c) =>
              c.rowHeader ? (
                <th key={c.key ?? c.head} scope="row">
                  {c.cell(row)}
                </th>
              ) : (
                <td
                  key={c.key ?? c.head}
                  className={classes(c.num && 'num', c.className)}
                  title={c.title?.(row)}
                >
                  {c.cell(row)}
                </td>
              ),
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
  if (bare) return table;
  return (
    <div className={classes('table-wrap', className)} style={maxHeight ? { maxHeight } : undefined}>
      {table}
      {children}
    </div>
  );
}

/**
 * The first column of a list whose rows choose what the rest of the page shows: a button per row,
 * pressed on the chosen one.
 */
export function selectColumn<T>({
  head,
  text,
  label,
  isSelected,
  onSelect,
}: {
  head: string;
  text: (row: T) => string;
  /** The button's accessible name. */
  label: (row: T) => string;
  isSelected: (row: T) => boolean;
  onSelect: (row: T) => void;
}): Column<T> {
  return {
    head,
    cell: (row) => (
      <button
        type="button"
        className="icon"
        onClick={() => onSelect(row)}
        aria-pressed={isSelected(row)}
        aria-label={label(row)}
      >
        {text(row)}
      </button>
    ),
  };
}
