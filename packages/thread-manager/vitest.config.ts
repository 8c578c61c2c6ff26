import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'thread-manager',
    include: ['test/**/*.test.ts'],
  },
});
