/** Number and time formatting shared by the pages; `—` for anything missing. */

export const DASH = '—';

export function fmtNum(x: number | null | undefined, digits = 0): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return DASH;
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Three significant digits, for statistics whose scale varies (means, t, latencies). */
export function fmtSig(x: number | null | undefined): string {
  if (x === null || x === undefined || Number.isNaN(x)) return DASH;
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 1000) return fmtNum(x, 0);
  return String(Number(x.toPrecision(3)));
}

export function fmtMs(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? DASH : `${fmtSig(x)} ms`;
}

export function fmtPct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? DASH : `${x.toFixed(digits)}%`;
}

export function fmtP(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return DASH;
  return p < 0.0001 ? p.toExponential(1) : p.toFixed(4);
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString('en-GB', { hour12: false });
}

/** Time of day with tenths of a second when the instant has them (sub-second decision intervals). */
export function fmtClock(iso: string | null | undefined): string {
  const base = fmtTime(iso);
  const ms = iso ? new Date(iso).getMilliseconds() : 0;
  return ms ? `${base}.${Math.floor(ms / 100)}` : base;
}

export function fmtDateTime(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toLocaleDateString('en-CA')} ${d.toLocaleTimeString('en-GB', { hour12: false })}`;
}

export function fmtAgo(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return DASH;
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (!Number.isFinite(s)) return DASH;
  if (s < 2) return 'just now';
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** The last 8 characters: UUIDv7 ids made close together share their first ones (a timestamp). */
export function shortId(id: string | null | undefined): string {
  return id ? `…${id.slice(-8)}` : DASH;
}
