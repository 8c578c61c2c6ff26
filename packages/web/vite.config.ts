import type { Plugin } from 'vite';
import { defineConfig } from 'vite';

/**
 * The entry (main.ts) starts the first view's calls and then imports the rest of the page
 * (start.tsx). This lists that chunk and everything it imports as modulepreload links in
 * index.html, so the browser downloads them while the entry is still being evaluated instead of
 * one after the other.
 */
function preloadStart(): Plugin {
  return {
    name: 'skein-preload-start',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html, ctx) {
        const bundle = ctx.bundle ?? {};
        const chunks = Object.values(bundle).filter((c) => c.type === 'chunk');
        const start = chunks.find((c) => c.facadeModuleId?.endsWith('/src/start.tsx'));
        if (!start) throw new Error('skein-preload-start: no chunk for src/start.tsx');
        const files = new Set<string>();
        const add = (file: string): void => {
          if (files.has(file)) return;
          files.add(file);
          const chunk = chunks.find((c) => c.fileName === file);
          for (const dep of chunk?.imports ?? []) add(dep);
        };
        add(start.fileName);
        const fresh = (file: string): boolean => !html.includes(`/${file}"`);
        const css = [...files].flatMap((f) => [
          ...(chunks.find((c) => c.fileName === f)?.viteMetadata?.importedCss ?? []),
        ]);
        return [
          ...css.filter(fresh).map((file) => ({
            tag: 'link',
            attrs: { rel: 'stylesheet', crossorigin: true, href: `/${file}` },
            injectTo: 'head' as const,
          })),
          ...[...files].filter(fresh).map((file) => ({
            tag: 'link',
            attrs: { rel: 'modulepreload', crossorigin: true, href: `/${file}` },
            injectTo: 'head' as const,
          })),
        ];
      },
    },
  };
}

// JSX through esbuild's automatic runtime: no plugin needed for a production build. Every asset
// gets a content hash (served immutable) and nothing is inlined into index.html, so the page
// runs under a Content-Security-Policy without 'unsafe-inline'.
export default defineConfig({
  esbuild: { jsx: 'automatic' },
  plugins: [preloadStart()],
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
