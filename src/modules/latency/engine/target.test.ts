import { describe, expect, it } from 'vitest';
import { measureOnce } from './measure';
import { startLatencyTarget } from './target';

describe('latency target', () => {
  it('answers GET /api/latency with pong after delay + jitter, and 404 elsewhere', async () => {
    const target = await startLatencyTarget({ port: 0, delayMs: 20, jitterMs: 10 });
    try {
      const res = await fetch(target.latencyUrl);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.json()).toEqual({ message: 'pong' });
      for (let i = 0; i < 5; i++) {
        const { latency_ms } = await measureOnce({ url: target.latencyUrl });
        expect(latency_ms).toBeGreaterThanOrEqual(19.5);
        // delay + jitter < 30 ms, plus timer and loopback slack.
        expect(latency_ms).toBeLessThan(100);
      }
      const missing = await fetch(`${target.url}/api/other`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({ error: 'not found' });
      expect(target.served).toBe(6);
    } finally {
      await target.close();
    }
  });

  it('?stall=MS delays one answer', async () => {
    const target = await startLatencyTarget({ port: 0 });
    try {
      const { latency_ms } = await measureOnce({ url: `${target.latencyUrl}?stall=300` });
      expect(latency_ms).toBeGreaterThanOrEqual(299);
      const fast = await measureOnce({ url: target.latencyUrl });
      expect(fast.latency_ms).toBeLessThan(150);
    } finally {
      await target.close();
    }
  });
});
