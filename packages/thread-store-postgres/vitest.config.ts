import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'thread-store-postgres',
    include: ['test/**/*.test.ts'],
  },
});
