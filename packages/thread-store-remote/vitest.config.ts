import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'thread-store-remote',
    include: ['test/**/*.test.ts'],
  },
});
