import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'reliability',
    include: ['test/**/*.test.ts'],
    // Probes spawn and kill processes; on a loaded 2-core machine that is slow. Counts are
    // bounded (see test/figures.ts), so each file ends on its own; the long counts get an hour.
    testTimeout: process.env.SKEIN_RELIABILITY === 'long' ? 3_600_000 : 600_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
