import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'thread-store-local',
    include: ['test/**/*.test.ts'],
  },
});
