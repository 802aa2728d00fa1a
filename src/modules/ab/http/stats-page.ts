/**
 * The statistics page, rendered on the server: no JavaScript, every dynamic string escaped.
 * The only inline content is the style sheet below; the CSP allows exactly it by its hash.
 */
import { createHash } from 'node:crypto';
import { type ExperimentStats, formatShare, srmVerdict } from '../sample-ratio';

const STYLE = [
  'body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222}',
  'table{border-collapse:collapse}',
  'th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}',
  'td.n{text-align:right;font-variant-numeric:tabular-nums}',
  '.srm{color:#b00;font-weight:600}',
].join('');

export const STATS_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const cell = (text: string | number, attrs = '') => `<td${attrs}>${escapeHtml(String(text))}</td>`;

function experimentRows(s: ExperimentStats): string {
  const span = ` rowspan="${s.options.length}"`;
  const { verdict, summary } = srmVerdict(s);
  const srm = cell(summary, verdict === 'mismatch' ? `${span} class="srm"` : span);
  return s.options
    .map((o, i) => {
      const head =
        i === 0 ? cell(s.name, span) + cell(s.status, span) + cell(s.devices, `${span} class="n"`) : '';
      const tail = i === 0 ? srm : '';
      return (
        `<tr>${head}${cell(String(o.value))}${cell(o.weight, ' class="n"')}` +
        `${cell(o.devices, ' class="n"')}${cell(formatShare(o.share), ' class="n"')}${tail}</tr>`
      );
    })
    .join('\n');
}

export function renderStatsPage(stats: ExperimentStats[], generatedAt: Date): string {
  const body =
    stats.length === 0
      ? '<p>No experiments.</p>'
      : `<table>
<thead><tr><th>Experiment</th><th>Status</th><th>Devices</th><th>Option</th><th>Weight</th><th>Count</th><th>Share</th><th>SRM check</th></tr></thead>
<tbody>
${stats.map(experimentRows).join('\n')}
</tbody>
</table>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Experiment statistics</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Experiment statistics</h1>
${body}
<p>Generated ${escapeHtml(generatedAt.toISOString())}. Devices per option, absolute and as a share of the experiment's devices.</p>
</body>
</html>
`;
}
