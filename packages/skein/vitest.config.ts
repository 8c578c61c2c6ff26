import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'skein',
    include: ['test/**/*.test.ts'],
    // Every test runs the built CLI as child processes (and some a server): seconds, not ms,
    // on a loaded 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: { TZ: 'UTC' },
  },
});
