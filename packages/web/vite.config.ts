import { defineConfig } from 'vite';

// JSX through esbuild's automatic runtime: no plugin needed for a production build. Every asset
// gets a content hash (served immutable) and nothing is inlined into index.html, so the page
// runs under a Content-Security-Policy without 'unsafe-inline'.
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
    // The budget that matters is gzipped (scripts/check-budget.mjs); this is the raw size.
    chunkSizeWarningLimit: 800,
    rollupOptions: {
      onwarn(warning, warn) {
        // React libraries mark modules "use client" for server-component bundlers: not relevant here.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
});
