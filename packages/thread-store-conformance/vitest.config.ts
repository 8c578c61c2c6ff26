import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'thread-store-conformance',
    include: ['test/**/*.test.ts'],
  },
});
