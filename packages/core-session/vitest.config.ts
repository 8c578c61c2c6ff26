import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'core-session',
    include: ['test/**/*.test.ts'],
  },
});
