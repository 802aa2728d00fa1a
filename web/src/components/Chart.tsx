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
  /** Step line (a value that holds until the next one). */
  stepped?: boolean;
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
  /** Show this many seconds up to the newest point (a fixed window), instead of the data's extent. */
  xWindow?: number;
  /** Shown instead of an empty plot. */
  emptyText?: string;
}

/**
 * One uPlot time-series chart that follows its container's width. The chart is built once per series
 * layout and fed new data in place, so live updates do not flicker or reallocate.
 */
export function Chart({ title, data, series, units = {}, bands = [], height = 220, xWindow, emptyText }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const bandsRef = useRef(bands);
  bandsRef.current = bands;
  const layout = JSON.stringify({ series, units, height, xWindow });

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
            if (min == null || max == null || !Number.isFinite(max)) {
              const now = Date.now() / 1000;
              return [now - (xWindow ?? 60), now];
            }
            if (xWindow) return [max - xWindow, max];
            return min === max ? [min - 30, max + 30] : [min, max];
          },
        },
      },
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          scale: s.scale ?? 'y',
          spanGaps: false,
          ...(s.points ? { paths: () => null, points: { show: true, size: 6, fill: s.color } } : {}),
          ...(s.stepped ? { paths: uPlot.paths.stepped?.({ align: 1 }) } : {}),
        })),
      ],
      axes: [
        { stroke: '#555', grid: { stroke: '#eee' } },
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
