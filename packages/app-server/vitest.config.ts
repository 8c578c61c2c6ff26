import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'app-server',
    include: ['test/**/*.test.ts'],
  },
});
