import { defineConfig } from 'vitest/config';

/**
 * The reliability suite: real processes, kills and outages. RELIABILITY_MODE=short (default, bounded for
 * CI) or full (the numbers). Files run one after another: they measure latencies and gaps
 * that a neighbour's CPU load would distort.
 */
const full = process.env.RELIABILITY_MODE === 'full';

export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    fileParallelism: false,
    testTimeout: full ? 30 * 60_000 : 170_000,
    hookTimeout: 120_000,
  },
});
