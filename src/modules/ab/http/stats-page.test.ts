import { describe, expect, it } from 'vitest';
import type { Experiment } from '../model';
import { experimentStats } from '../sample-ratio';
import { colours } from '../test-support';
import { escapeHtml, renderStatsPage } from './stats-page';

describe('renderStatsPage', () => {
  it('escapes every dynamic string', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const evil: Experiment = {
      ...colours,
      name: 'x<y',
      values: ['<script>alert(1)</script>', 'b"c'],
      weights: [1, 1],
    };
    const html = renderStatsPage([experimentStats(evil, [], [])], new Date('2030-01-01T00:00:00Z'));
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<td rowspan="2">x&lt;y</td>');
    expect(html).toContain('b&quot;c');
  });
});
