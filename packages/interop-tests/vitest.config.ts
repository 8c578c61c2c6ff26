import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'interop-tests',
    include: ['test/**/*.test.ts'],
    // Each test drives real Codex processes; their startup is slow on a loaded 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Files run one after another: each spawns several Codex processes of its own.
    fileParallelism: false,
  },
});
