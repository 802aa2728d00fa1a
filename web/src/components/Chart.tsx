import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  color: string;
  /** Scale (axis) the series uses; the first scale is drawn on the left, a second on the right. */
  scale?: string;
  /** Draw points only (sparse data such as one value per decision). */
  points?: boolean;
  /** Draw the line across missing values (a dense series sharing the x axis with a sparse one). */
  spanGaps?: boolean;
}

/** A shaded span of the x axis (seconds), e.g. the periods a status was "up". */
export interface ChartBand {
  from: number;
  to: number;
  color: string;
}

export interface ChartProps {
  /** Accessible name, also shown as the heading. */
  title: string;
  /** x values in Unix seconds, then one array per series (null = gap). */
  data: [number[], ...(number | null)[][]];
  series: ChartSeries[];
  /** Axis labels by scale name. */
  units?: Record<string, string>;
  bands?: ChartBand[];
  height?: number;
  /** Scales whose axis starts at zero (rates, latencies) instead of hugging the data. */
  zero?: string[];
  /** Show this many seconds up to the newest point (a fixed window), instead of the data's extent. */
  xWindow?: number;
  /** Shown instead of an empty plot. */
  emptyText?: string;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** One-line 24-hour tick labels, as precise as the visible span needs (uPlot's stack up on a phone). */
function timeLabels(u: uPlot, splits: number[]): string[] {
  const span = (u.scales.x?.max ?? 0) - (u.scales.x?.min ?? 0);
  return splits.map((v) => {
    const d = new Date(v * 1000);
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    if (span > 2 * 86_400) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    if (span > 86_400) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
    if (span > 1800) return hm;
    const ms = d.getMilliseconds();
    return `${hm}:${pad(d.getSeconds())}${span < 20 && ms ? `.${Math.floor(ms / 100)}` : ''}`;
  });
}

/** A round upper bound a little above `max` (1, 2 or 5 times a power of ten). */
function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max * 1.1));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= max * 1.1) ?? 10 * p;
}

/**
 * One uPlot time-series chart that follows its container's width. The chart is built once per series
 * layout and fed new data in place, so live updates do not flicker or reallocate.
 */
export function Chart({
  title,
  data,
  series,
  units = {},
  bands = [],
  height = 220,
  zero = [],
  xWindow,
  emptyText,
}: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const bandsRef = useRef(bands);
  bandsRef.current = bands;
  const layout = JSON.stringify({ series, units, height, zero, xWindow });

  // biome-ignore lint/correctness/useExhaustiveDependencies: rebuilt only when the layout changes; data is fed below.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const scales = [...new Set(series.map((s) => s.scale ?? 'y'))];
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        x: {
          time: true,
          // A single point would otherwise stretch the axis over years.
          range: (_u, min, max) => {
            if (xWindow || min == null || max == null) {
              const now = Date.now() / 1000;
              return [now - (xWindow ?? 60), now];
            }
            return min === max ? [min - 30, max + 30] : [min, max];
          },
        },
        ...Object.fromEntries(
          zero.map((scale) => [
            scale,
            { range: (_u: uPlot, _min: number, max: number) => [0, niceMax(max)] },
          ]),
        ),
      },
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          scale: s.scale ?? 'y',
          spanGaps: s.spanGaps ?? false,
          ...(s.points ? { paths: () => null, points: { show: true, size: 7, fill: s.color } } : {}),
        })),
      ],
      axes: [
        { stroke: '#555', grid: { stroke: '#eee' }, space: 70, values: timeLabels },
        ...scales.map((scale, i) => ({
          scale,
          label: units[scale] ?? '',
          stroke: '#555',
          grid: { show: i === 0, stroke: '#eee' },
          side: i === 0 ? 3 : 1,
          size: 56,
        })),
      ],
      hooks: {
        drawClear: [
          (u: uPlot) => {
            const { ctx } = u;
            const { top, height: h } = u.bbox;
            for (const b of bandsRef.current) {
              const x0 = u.valToPos(b.from, 'x', true);
              const x1 = u.valToPos(b.to, 'x', true);
              ctx.fillStyle = b.color;
              ctx.fillRect(x0, top, Math.max(1, x1 - x0), h);
            }
          },
        ],
      },
    };
    const u = new uPlot(opts, data as uPlot.AlignedData, el);
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [layout]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  const points = data[0].length;
  return (
    <figure className="chart" data-points={points}>
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${points} points`} />
      {points === 0 && <p className="muted chart-empty">{emptyText ?? 'No data yet.'}</p>}
    </figure>
  );
}
