import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'skein',
    include: ['test/**/*.test.ts'],
  },
});
