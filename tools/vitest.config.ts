import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'tools',
    include: ['test/**/*.test.ts'],
    // The fixture monorepos hold *.test.ts files of their own: data for the checks, not tests.
    exclude: ['test/fixtures/**', '**/node_modules/**'],
  },
});
