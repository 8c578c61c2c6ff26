import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'thread-store-api',
    include: ['test/**/*.test.ts'],
  },
});
