import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'interop-tests',
    include: ['test/**/*.test.ts'],
  },
});
